#!lua
-- The steady heartbeat: a session that is already in the user's sessions set beats again (docs/architecture.md,
-- "The steady heartbeat"). Nothing changes state here and nothing is emitted; anything else answers {2} before
-- writing anything, and the store sends the same heartbeat to presence.lua, which owns every transition.
-- Why a member of the sessions set is enough: the set is emptied whenever the user leaves (every leave runs only
-- when no session is live, after expired ones were dropped), a pending leave is set only on an empty set, and
-- only presence.lua adds a session, making the user online as it does. So a session found here means the user is
-- online with no leave pending, as presence.lua's own steady branch would find it.
-- Every key is declared and lies under the user's shard hash tag: one slot on Redis Cluster.
-- Each key and argument costs Redis time on every call, so only a flag that is given is passed.
-- KEYS: 1 the user's sessions, 2 lastseen, 3 online, 4 user hash; with an availability flag: 5 available, 6 availuntil
-- ARGV: 1 id, 2 session member ('rest:...' or 'hub:...'), 3 now (unix ms), 4 session expires-at (now + the session's
--       window), 5 min interval ms (0 = none), 6 refresh period ms, 7 retention ms;
--       with an availability flag: 8 available '1' | '0', 9 availability TTL ms
local call = redis.call
local last = call('ZSCORE', KEYS[1], ARGV[2])
if not last then return {2} end
last = tonumber(last)
local expires = tonumber(ARGV[4])
local minInterval = tonumber(ARGV[5])
-- The min interval reads the session's own score: expires-at minus the window is the last accepted beat, so the
-- time since it is the difference of the two expiries.
if minInterval > 0 then
  local since = expires - last
  if since < minInterval then return {0, math.min(minInterval, minInterval - since)} end
end
local id = ARGV[1]
local lapse
if ARGV[8] == '1' then
  -- A renewal of an availability that is still on and has no explicit end that passed: no event, only a later lapse.
  local now = tonumber(ARGV[3])
  local was = call('ZSCORE', KEYS[5], id)
  if not was or tonumber(was) <= now then return {2} end
  lapse = now + tonumber(ARGV[9])
  local untilMs = call('HGET', KEYS[6], id)
  if untilMs then
    untilMs = tonumber(untilMs)
    if untilMs <= now then return {2} end
    if untilMs < lapse then lapse = untilMs end
  end
elseif ARGV[8] == '0' then
  if call('ZSCORE', KEYS[5], id) then return {2} end
end
call('ZADD', KEYS[1], 'GT', ARGV[4], ARGV[2])
call('ZADD', KEYS[2], 'GT', ARGV[3], id)
call('ZADD', KEYS[3], 'GT', ARGV[4], id)
if lapse then call('ZADD', KEYS[5], lapse, id) end
-- The user hash and the TTLs are written on the first beat of each refresh period only (the period is short
-- enough that they outlive every live session); the exact last activity is the last-seen score.
local period = tonumber(ARGV[6])
if math.floor(last / period) ~= math.floor(expires / period) then
  local transport = 'rest'
  if string.sub(ARGV[2], 1, 4) == 'hub:' then transport = 'hub' end
  call('HSET', KEYS[4], 'lastActive', ARGV[3], 'lastHeartbeat', ARGV[3], 'transport', transport)
  call('PEXPIRE', KEYS[4], ARGV[7])
  call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
  call('PEXPIRE', KEYS[1], ARGV[7])
end
return {1, 0, 0}
