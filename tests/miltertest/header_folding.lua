-- A Cc header folded over 12 lines, as the MTA passes it (continuation
-- lines separated by newlines), is read whole: the Cc exposure of 12
-- private addresses is refused. (miltertest itself overflows on header
-- values of a few KB, so the list is short.)
dofile(dir .. "/common.lua")
local conn = open_connection()
envelope(conn, "FOLDED", "jane@example.org", {"person0@gmail.com"})
local providers = {"gmail.com", "outlook.com", "hotmail.co.uk", "yahoo.co.uk", "icloud.com"}
local cc = {}
for i = 0, 11 do
	cc[#cc + 1] = "person" .. i .. "@" .. providers[i % 5 + 1]
end
headers(conn, {
	{"From", "Jane <jane@example.org>"},
	{"To", "jane@example.org"},
	{"Cc", table.concat(cc, ",\n\t")},
	{"Subject", "Event\n tonight"},
	{"Message-ID", "<folded@example.org>"},
})
expect(mt.bodystring(conn, "See you there.\r\n"), "body")
expect_reply(conn, SMFIR_CONTINUE, "body")
expect(mt.eom(conn), "end of message")
expect_reply(conn, SMFIR_REPLYCODE, "a folded Cc exposure")
mt.disconnect(conn)
