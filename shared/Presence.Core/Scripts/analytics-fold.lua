-- Folds one state event into the engagement analytics: docs/architecture.md, "Engagement analytics".
-- KEYS: 1 seen (per day, event identities), 2 coverage online HLL (hour), 3 coverage available HLL (hour),
-- 4 sessions HASH (role, day), 5 session start scratch (role, user), 6 daily active HLL (role, day),
-- 7 SET of therapists available now, 8 LIST of waiting community arrival times, 9 time-to-available HASH (day).
-- ARGV: 1 event identity, 2 role, 3 id, 4 at (ms), 5 status, 6 available (1/0), 7 retention ms, 8 scratch ms.
-- Returns {0} for an event already folded (replays change nothing), otherwise {1, session ms or -1, waits ms...}
-- (the durations recorded now, which the caller also exports as metrics).
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return {0} end
redis.call('PEXPIRE', KEYS[1], ARGV[8])
local role, id, at, status, available, retention, scratch = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6] == '1', ARGV[7], ARGV[8]
local bounds = {60, 300, 900, 1800, 3600, 7200, 14400}
local session, waits = -1, {}
local function record(key, ms)
  local field = 'inf'
  for _, b in ipairs(bounds) do
    if ms / 1000 <= b then field = 'le' .. b break end
  end
  redis.call('HINCRBY', key, field, 1)
  redis.call('HINCRBY', key, 'count', 1)
  redis.call('HINCRBY', key, 'totalMs', ms)
  redis.call('PEXPIRE', key, retention)
end
local function mark(key)
  redis.call('PFADD', key, id)
  redis.call('PEXPIRE', key, retention)
end
if status == 'online' then
  mark(KEYS[6])
  if role == 'therapist' then mark(KEYS[2]) end
  if redis.call('SET', KEYS[5], at, 'NX', 'PX', scratch) and role == 'community' then
    if redis.call('SCARD', KEYS[7]) > 0 then
      record(KEYS[9], 0)
      waits[#waits + 1] = 0
    else
      redis.call('RPUSH', KEYS[8], at)
      redis.call('LTRIM', KEYS[8], -10000, -1)
      redis.call('PEXPIRE', KEYS[8], scratch)
    end
  end
else
  local start = redis.call('GET', KEYS[5])
  if start then
    redis.call('DEL', KEYS[5])
    session = math.max(0, at - tonumber(start))
    record(KEYS[4], session)
  end
end
if role == 'therapist' then
  if available then
    mark(KEYS[3])
    if redis.call('SADD', KEYS[7], id) == 1 then
      for _, arrived in ipairs(redis.call('LRANGE', KEYS[8], 0, -1)) do
        local wait = math.max(0, at - tonumber(arrived))
        record(KEYS[9], wait)
        waits[#waits + 1] = wait
      end
      redis.call('DEL', KEYS[8])
    end
  else
    redis.call('SREM', KEYS[7], id)
  end
end
local reply = {1, session}
for _, w in ipairs(waits) do reply[#reply + 1] = w end
return reply
