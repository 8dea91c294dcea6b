-- Removes hub connections of a user: one by name (ARGV[1] non-empty), or all whose expiry passed (ARGV[1] empty).
-- When the user is left with none, the user signs off: ZREM from online returning 1 emits 'recent' once.
-- KEYS: 1 the user's conns, 2 the role's connection index, 3 instance connection set (ignored when expiring),
--       4 online, 5 events
-- ARGV: 1 member 'instance|connection' or '', 2 instance entry 'user|connection' or '', 3 user id,
--       4 now (unix ms), 5 stream max length, 6 role
-- Returns 0 when connections remain, 1 when none remain, 2 when none remain and the user went offline.
if ARGV[1] ~= '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[2])
else
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first > 0 then
  redis.call('ZADD', KEYS[2], first[2], ARGV[3])
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[3])
if redis.call('ZREM', KEYS[4], ARGV[3]) == 1 then
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[5], '*', 'role', ARGV[6], 'id', ARGV[3], 'status', 'recent', 'at', ARGV[4])
  return 2
end
return 1
