-- A message aborted halfway (RSET) leaves nothing behind: the next message
-- on the connection is judged on its own.
dofile(dir .. "/common.lua")
local conn = open_connection()
envelope(conn, "ABORTED", "jane@example.org", {"person0@gmail.com"})
local cc = private_addresses(12)
expect(mt.header(conn, "Cc", table.concat(cc, ", ")), "header Cc")
expect_reply(conn, SMFIR_CONTINUE, "header Cc")
expect(mt.abort(conn), "abort")

envelope(conn, "AFTER", "jane@example.org", {"bob@partner.example"})
headers(conn, CLEAN_HEADERS)
expect(mt.bodystring(conn, "Hello Bob.\r\n"), "body")
expect_reply(conn, SMFIR_CONTINUE, "body")
expect(mt.eom(conn), "end of message")
expect_reply(conn, SMFIR_CONTINUE, "the message after the abort")
mt.disconnect(conn)
