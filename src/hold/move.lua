-- Moves a held message from state ARGV[3] to ARGV[4] if, and only if, it
-- is in ARGV[3] now: Redis runs a script alone, so of any number of
-- pages deciding at once on any gateways exactly one moves it. The
-- indexes follow in the same step; so does the hand-over of a decision
-- to the gateway that holds the message (ARGV[5], its request list).
--
-- ARGV: 1 prefix; 2 id; 3 from; 4 to; 5 gateway to hand the decision to,
-- or ""; then field, value pairs to set on the record ("" deletes).
-- Returns 1 when moved, 0 when the message was not in `from`.
local p, id, from, to, queue_for = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = p .. 'msg:' .. id
if redis.call('HGET', key, 'state') ~= from then
  return 0
end
redis.call('HSET', key, 'state', to)
for i = 6, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', key, ARGV[i])
  else
    redis.call('HSET', key, ARGV[i], ARGV[i + 1])
  end
end
redis.call('ZREM', p .. 'state:' .. from, id)
redis.call('ZADD', p .. 'state:' .. to, id, id)
local gateway = redis.call('HGET', key, 'gateway')
if from == 'held' then
  redis.call('ZREM', p .. 'due:' .. gateway, id)
end
if to ~= 'held' and to ~= 'busy' then
  redis.call('SREM', p .. 'unnotified:' .. gateway, id)
end
if to == 'held' then
  redis.call('ZADD', p .. 'due:' .. gateway, redis.call('HGET', key, 'expires_at'), id)
end
if queue_for ~= '' then
  redis.call('RPUSH', p .. 'requests:' .. queue_for, id)
end
return 1
