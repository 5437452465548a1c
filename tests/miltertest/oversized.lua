-- A message over [input] max_message_size (64 KB here) is not checked; the
-- oversize action answers (accept, the default), and the log says so.
dofile(dir .. "/common.lua")
local conn = open_connection()
envelope(conn, "OVERSIZE", "jane@example.org", {"bob@partner.example"})
headers(conn, CLEAN_HEADERS)
local line = string.rep("x", 998) .. "\r\n"
for i = 1, 100 do
	expect(mt.bodystring(conn, line), "body chunk " .. i)
	expect_reply(conn, SMFIR_CONTINUE, "body chunk " .. i)
end
expect(mt.eom(conn), "end of message")
expect_reply(conn, SMFIR_CONTINUE, "an oversized message")
mt.disconnect(conn)
