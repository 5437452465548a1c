-- One message's storm count in one round trip, atomically (Redis runs a
-- script alone): the same steps as `Counters::count` in memory.rs, which
-- is the reference. Keys are built here from the prefix and the keyed
-- hashes the gateway computed, so this works on a single Redis server
-- (not Redis Cluster, which needs every key declared).
--
-- ARGV: 1 key prefix; 2 "1" for a reply to a large audience, else "0";
-- 3 the thread by the message's own headers; 4 its parent (In-Reply-To)
-- or ""; 5 the message's own id or ""; 6 the window (seconds); 7 the block
-- (seconds); 8 max replies per window; 9 the sender or ""; 10 messages a
-- sender may send per hour.
--
-- Returns {outcome, count}: 0 pass, 1 the thread is paused, 2 this reply
-- starts a storm (count: its number), 3 the sender is over the limit.
local prefix = ARGV[1]

-- A window that opens with its first count: SET NX EX opens it, INCR
-- counts in it and keeps its expiry.
local function count(key, seconds)
  redis.call('SET', key, 0, 'EX', seconds, 'NX')
  return redis.call('INCR', key)
end

if ARGV[2] == '1' then
  local thread = ARGV[3]
  if ARGV[4] ~= '' then
    local seen = redis.call('GET', prefix .. 'thread-of:' .. ARGV[4])
    if seen then
      thread = seen
    end
  end
  if ARGV[5] ~= '' then
    redis.call('SET', prefix .. 'thread-of:' .. ARGV[5], thread, 'EX', ARGV[7])
  end
  local blocked = prefix .. 'blocked:' .. thread
  if redis.call('EXISTS', blocked) == 1 then
    return {1, 0}
  end
  local replies = count(prefix .. 'replies:' .. thread, ARGV[6])
  if replies > tonumber(ARGV[8]) then
    redis.call('SET', blocked, 1, 'EX', ARGV[7])
    return {2, replies}
  end
end
if ARGV[9] ~= '' then
  local sent = count(prefix .. 'sender:' .. ARGV[9], 3600)
  if sent > tonumber(ARGV[10]) then
    return {3, sent}
  end
end
return {0, 0}
