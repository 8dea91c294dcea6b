-- Backstop of retention (docs/architecture.md, "Keys"): one bounded batch of last-seen entries older than the retention.
-- Never one ZREMRANGEBYSCORE over the whole range, which would block Redis for as long as it has entries.
-- Range and removal in one script, so a heartbeat that raised a score meanwhile is not removed.
-- KEYS: 1 lastseen
-- ARGV: 1 cutoff (unix ms; entries scored strictly below it go), 2 batch size
-- Returns how many entries were removed.
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #old > 0 then
  redis.call('ZREM', KEYS[1], unpack(old))
end
return #old
