-- Releases the janitor lease only if the caller still holds it (compare-and-delete): a slow ex-leader
-- whose lease lapsed must never delete the lease of the replica that took over.
-- KEYS: 1 lease
-- ARGV: 1 holder token
-- Returns 1 when released, 0 when the caller did not hold it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
