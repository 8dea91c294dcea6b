-- Notification cooldown per (user, therapist): docs/architecture.md, "Watchlists and notifications".
-- KEYS[1] cooldown key; ARGV[1] now (unix ms, service clock), ARGV[2] cooldown ms, ARGV[3] event id.
-- Returns 1 (deliver) when no cooldown runs or it runs for this same event id, else 0.
local v = redis.call('GET', KEYS[1])
local now = tonumber(ARGV[1])
if v then
  local sep = string.find(v, '|', 1, true)
  if sep and tonumber(string.sub(v, 1, sep - 1)) > now then
    if string.sub(v, sep + 1) == ARGV[3] then return 1 end
    return 0
  end
end
redis.call('SET', KEYS[1], (now + tonumber(ARGV[2])) .. '|' .. ARGV[3], 'PX', ARGV[2])
return 1
