-- One heartbeat, one round trip (DESIGN.md §3).
-- KEYS: 1 lastseen, 2 online, 3 user hash, 4 throttle, 5 events, 6 available
-- ARGV: 1 id, 2 now (unix ms), 3 online-until (unix ms), 4 retention (ms), 5 min interval (ms, 0 = none),
--       6 transport, 7 stream max length, 8 role, 9 available ('' unchanged, '1', '0'),
--       10.. metadata field/value pairs for the user hash
-- Returns {1, cameOnline} when recorded, {0, retryAfterMs} when refused by the min interval.
local id = ARGV[1]
local now = tonumber(ARGV[2])
local minInterval = tonumber(ARGV[5])
if minInterval > 0 then
  -- The guard holds the time of the last accepted REST heartbeat (the service's clock, not Redis's, so
  -- every replica and every test clock agrees on one timeline); PX only cleans it up.
  local last = redis.call('GET', KEYS[4])
  if last then
    local since = now - tonumber(last)
    if since < minInterval then
      return {0, math.min(minInterval, minInterval - since)}
    end
  end
  redis.call('SET', KEYS[4], ARGV[2], 'PX', minInterval)
end
redis.call('ZADD', KEYS[1], 'GT', now, id)
-- A member whose online-until already passed but that the sweep has not yet removed was offline:
-- this heartbeat brings it back, and the sweep (which re-checks the score) will not emit 'recent'.
local previous = redis.call('ZSCORE', KEYS[2], id)
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], id)
redis.call('HSET', KEYS[3], 'lastActive', ARGV[2], 'lastHeartbeat', ARGV[2], 'transport', ARGV[6], unpack(ARGV, 10))
redis.call('PEXPIRE', KEYS[3], ARGV[4])
local cameOnline = 0
if (not previous) or tonumber(previous) <= now then
  cameOnline = 1
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[7], '*', 'role', ARGV[8], 'id', id, 'status', 'online', 'at', ARGV[2])
end
if ARGV[9] == '1' then
  if redis.call('SADD', KEYS[6], id) == 1 then
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[7], '*', 'role', ARGV[8], 'id', id, 'status', 'available', 'at', ARGV[2])
  end
elseif ARGV[9] == '0' then
  if redis.call('SREM', KEYS[6], id) == 1 then
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[7], '*', 'role', ARGV[8], 'id', id, 'status', 'unavailable', 'at', ARGV[2])
  end
end
return {1, cameOnline}
