-- A user hash expired (keyspace notification): retention since the user's last activity passed, so the
-- user's last-seen entry and throttle go too. A heartbeat that arrived after the expiry re-created the
-- hash: then the user is active again and nothing is removed.
-- online and conns are left to the sweep (it owns those transitions); available survives (no TTL, §1).
-- KEYS: 1 user hash, 2 lastseen, 3 throttle
-- ARGV: 1 id
-- Returns 1 when the last-seen entry was removed, 0 otherwise.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('DEL', KEYS[3])
return redis.call('ZREM', KEYS[2], ARGV[1])
