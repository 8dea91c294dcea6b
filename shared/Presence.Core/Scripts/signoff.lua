-- Sign-off: online ends now. ZREM returning 1 decides that this call emits the 'recent' transition,
-- so a sign-off racing the janitor's sweep is reported once.
-- The throttle is cleared so that logging straight back in is not refused by the min interval.
-- KEYS: 1 online, 2 throttle, 3 events
-- ARGV: 1 id, 2 now (unix ms), 3 stream max length, 4 role
-- Returns 1 when the user was online, 0 otherwise.
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
if removed == 1 then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'role', ARGV[4], 'id', ARGV[1], 'status', 'recent', 'at', ARGV[2])
end
return removed
