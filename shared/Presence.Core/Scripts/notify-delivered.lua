-- A notification was delivered: docs/architecture.md, "Watchlists and notifications". From now on the same event id
-- no longer passes its own cooldown (only an interrupted delivery is sent again).
-- KEYS[1] cooldown key; ARGV[1] event id.
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local sep = string.find(v, '|', 1, true)
if sep and string.sub(v, sep + 1) == ARGV[1] then
  redis.call('SET', KEYS[1], string.sub(v, 1, sep) .. 'delivered', 'KEEPTTL')
  return 1
end
return 0
