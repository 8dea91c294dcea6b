-- Janitor leader lease: acquire (SET NX PX) or, when this holder already has it, renew (compare-and-renew),
-- in one call so a holder never renews a lease that lapsed and went to another replica.
-- KEYS: 1 lease
-- ARGV: 1 holder token, 2 lease duration (ms)
-- Returns {1, 0} when the caller holds the lease now, {0, ms left on the current holder's lease (PTTL)}.
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, 0}
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
  return {1, 0}
end
return {0, redis.call('PTTL', KEYS[1])}
