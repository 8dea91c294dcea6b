-- Sets or clears a therapist's "accepting sessions" flag; a real change appends one event.
-- KEYS: 1 available, 2 events
-- ARGV: 1 id, 2 '1' or '0', 3 now (unix ms), 4 stream max length, 5 role
-- Returns 1 when the flag changed, 0 when it already had that value.
local changed
local status
if ARGV[2] == '1' then
  changed = redis.call('SADD', KEYS[1], ARGV[1])
  status = 'available'
else
  changed = redis.call('SREM', KEYS[1], ARGV[1])
  status = 'unavailable'
end
if changed == 1 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'role', ARGV[5], 'id', ARGV[1], 'status', status, 'at', ARGV[3])
end
return changed
