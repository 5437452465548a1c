-- Shared by the miltertest scripts: run as
--   miltertest -D port=PORT -D dir=THIS_DIRECTORY -s SCRIPT.lua
-- against `maillint milter` with tests/miltertest/maillint.toml.

function open_connection()
	local conn = mt.connect("inet:" .. port .. "@127.0.0.1")
	if conn == nil then
		error("cannot connect to the milter on port " .. port)
	end
	-- The MTA's submission service, whose mail is outgoing.
	mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", "ORIGINATING")
	expect(mt.conninfo(conn, "client.example.org", "192.0.2.1"), "connect")
	expect_reply(conn, SMFIR_CONTINUE, "connect")
	return conn
end

function expect(result, what)
	if result ~= nil then
		error(what .. " failed: " .. tostring(result))
	end
end

function expect_reply(conn, wanted, what)
	local got = mt.getreply(conn)
	if got ~= wanted then
		error(what .. ": reply " .. tostring(got) .. ", expected " .. tostring(wanted))
	end
end

-- MAIL FROM and RCPT TO, with a queue id for the log.
function envelope(conn, queue_id, sender, recipients)
	mt.macro(conn, SMFIC_MAIL, "i", queue_id)
	expect(mt.mailfrom(conn, "<" .. sender .. ">"), "MAIL FROM")
	expect_reply(conn, SMFIR_CONTINUE, "MAIL FROM")
	for _, rcpt in ipairs(recipients) do
		expect(mt.rcptto(conn, "<" .. rcpt .. ">"), "RCPT TO")
		expect_reply(conn, SMFIR_CONTINUE, "RCPT TO")
	end
end

-- `n` addresses at personal mail providers: person0@gmail.com, ...
function private_addresses(n)
	local providers = {"gmail.com", "outlook.com", "hotmail.co.uk", "yahoo.co.uk", "icloud.com"}
	local addresses = {}
	for i = 0, n - 1 do
		addresses[#addresses + 1] = "person" .. i .. "@" .. providers[i % 5 + 1]
	end
	return addresses
end

function headers(conn, fields)
	for _, field in ipairs(fields) do
		expect(mt.header(conn, field[1], field[2]), "header " .. field[1])
		expect_reply(conn, SMFIR_CONTINUE, "header " .. field[1])
	end
	expect(mt.eoh(conn), "end of headers")
	expect_reply(conn, SMFIR_CONTINUE, "end of headers")
end

CLEAN_HEADERS = {
	{"From", "Jane <jane@example.org>"},
	{"To", "Bob <bob@partner.example>"},
	{"Subject", "Minutes"},
	{"Message-ID", "<clean@example.org>"},
}
