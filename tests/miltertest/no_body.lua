-- A message with headers and no body is checked like any other: a warning
-- (an all-staff list) is tagged with an X-Maillint header.
dofile(dir .. "/common.lua")
local conn = open_connection()
envelope(conn, "NOBODY", "jane@example.org", {"all-staff@example.org"})
headers(conn, {
	{"From", "Jane <jane@example.org>"},
	{"To", "All Staff <all-staff@example.org>"},
	{"Subject", "Office closed on Monday"},
	{"Message-ID", "<nobody@example.org>"},
})
expect(mt.eom(conn), "end of message")
expect_reply(conn, SMFIR_CONTINUE, "end of message")
-- With the space after the colon: miltertest, like Postfix, agreed to
-- take header values as written (SMFIP_HDR_LEADSPC).
if not mt.eom_check(conn, MT_HDRADD, "X-Maillint", " mass-list") then
	error("no X-Maillint: mass-list header added")
end

mt.disconnect(conn)
