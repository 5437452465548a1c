-- A body in 1,500 small chunks is one message, checked once.
dofile(dir .. "/common.lua")
local conn = open_connection()
envelope(conn, "CHUNKS", "jane@example.org", {"bob@partner.example"})
headers(conn, CLEAN_HEADERS)
for i = 1, 1500 do
	expect(mt.bodystring(conn, "line " .. i .. " of the minutes\r\n"), "body chunk " .. i)
	expect_reply(conn, SMFIR_CONTINUE, "body chunk " .. i)
end
expect(mt.eom(conn), "end of message")
expect_reply(conn, SMFIR_CONTINUE, "end of message")
mt.disconnect(conn)
