-- The notifier's last seen state of one therapist: docs/architecture.md, "Watchlists and notifications".
-- KEYS[1] state key ("ver|available|previous available"); ARGV[1] ver, ARGV[2] available (1/0), ARGV[3] keep ms.
-- Returns -1 for an event older than the last one seen (stale), else the availability before this event (1/0, 0 when
-- unknown). The same ver again (a redelivered entry) gives the same answer as the first time, so an interrupted
-- delivery is decided the same way when it is read again.
local v = redis.call('GET', KEYS[1])
local ver = tonumber(ARGV[1])
local before = '0'
if v then
  local a, b = string.find(v, '|', 1, true)
  local seen = tonumber(string.sub(v, 1, a - 1))
  local rest = string.sub(v, b + 1)
  local sep = string.find(rest, '|', 1, true)
  if ver < seen then return -1 end
  if ver == seen then return tonumber(string.sub(rest, sep + 1)) end
  before = string.sub(rest, 1, sep - 1)
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2] .. '|' .. before, 'PX', ARGV[3])
return tonumber(before)
