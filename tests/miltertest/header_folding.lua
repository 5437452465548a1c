-- A Cc header folded over 12 lines, as the MTA passes it (continuation
-- lines separated by newlines), is read whole: the Cc exposure of 12
-- private addresses is refused. (miltertest itself overflows on header
-- values of a few KB, so the list is short.)
dofile(dir .. "/common.lua")
local conn = open_connection()
envelope(conn, "FOLDED", "jane@example.org", {"person0@gmail.com"})
local cc = private_addresses(12)
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
