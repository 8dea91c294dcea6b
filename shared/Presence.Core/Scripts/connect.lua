-- Records (or refreshes) one hub connection of a user.
-- KEYS: 1 the user's conns, 2 the role's connection index, 3 the gateway instance's connection set
-- ARGV: 1 member 'instance|connection', 2 expires-at (unix ms), 3 user id, 4 instance entry 'user|connection',
--       5 safety TTL of the conns key (ms)
-- Returns the number of connections the user holds.
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SADD', KEYS[3], ARGV[4])
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[2], first[2], ARGV[3])
return redis.call('ZCARD', KEYS[1])
