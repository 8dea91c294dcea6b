-- A user hash expired (keyspace notification): retention since the user's last activity passed, so the user's
-- last-seen entry, version, specialties, board entry and sessions go too. A heartbeat that arrived after the expiry re-created
-- the hash: then the user is active again and nothing is removed. The indexes (online, recent, available) are left
-- to the sweeps, which own those transitions (docs/architecture.md, "Keys").
-- KEYS: 1 user hash, 2 lastseen, 3 versions, 4 specialties, 5 sessions, 6 board entries
-- ARGV: 1 id
-- Returns 1 when the last-seen entry was removed, 0 otherwise.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[5])
redis.call('HDEL', KEYS[6], ARGV[1])
return redis.call('ZREM', KEYS[2], ARGV[1])
