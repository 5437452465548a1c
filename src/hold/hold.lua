-- Records a held message in the shared store, in one step: its record,
-- the indexes the page lists by, its gateway's expiry and notification
-- lists, and the `hold` line of the audit log. Keys are built from the
-- prefix (a single Redis server, as for the storm counters).
--
-- ARGV: 1 prefix; 2 gateway; 3 queue id; 4 sender; 5 recipients (JSON);
-- 6 subject; 7 findings (JSON); 8 rules (JSON); 9 releaser; 10 held at;
-- 11 expires at; 12 the audit line's detail (the rules).
-- Returns the message's id, unique among all gateways.
local p, gateway = ARGV[1], ARGV[2]
local id = redis.call('INCR', p .. 'next-id')
redis.call('HSET', p .. 'msg:' .. id,
  'gateway', gateway, 'queue_id', ARGV[3], 'sender', ARGV[4],
  'recipients', ARGV[5], 'subject', ARGV[6], 'findings', ARGV[7],
  'rules', ARGV[8], 'releaser', ARGV[9], 'held_at', ARGV[10],
  'expires_at', ARGV[11], 'state', 'held')
redis.call('ZADD', p .. 'all', id, id)
redis.call('ZADD', p .. 'state:held', id, id)
redis.call('ZADD', p .. 'time', ARGV[10], id)
redis.call('ZADD', p .. 'due:' .. gateway, ARGV[11], id)
redis.call('SADD', p .. 'unnotified:' .. gateway, id)
redis.call('RPUSH', p .. 'audit', cjson.encode({
  at = tonumber(ARGV[10]), event = 'hold', held_id = id, queue_id = ARGV[3],
  actor = 'maillint', detail = ARGV[12], gateway = gateway }))
return id
