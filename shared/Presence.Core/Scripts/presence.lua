#!lua
-- The shebang (no flags) makes Redis refuse the whole call up front under OOM (maxmemory with noeviction), rather
-- than let an early removal through and fail a later write half-way (docs/reliability.md, "Redis errors").
-- Every change of one user's presence, one round trip (docs/architecture.md, "Presence model").
-- One script with an operation argument, so the state rules and the event format are written once.
-- Every key is one user's or an index of that user's shard, all under the shard's hash tag: one slot on Redis Cluster.
-- The steady heartbeat of a session already known has a short script of its own, beat.lua; it sends every other
-- heartbeat here (docs/architecture.md, "The steady heartbeat").
-- KEYS: 1 lastseen, 2 online (online-until index), 3 recent (window-end index), 4 available (lapse index),
--       5 availuntil (hash id -> explicit until), 6 specialties (hash id -> csv), 7 versions (hash id -> ver),
--       8 user hash, 9 the user's sessions, 10 events, 11 gateway instance set, 12 board entries (hash id -> entry)
-- ARGV: 1 op, 2 id, 3 now (unix ms), 4 role, 5 stream max length, 6 recent window (ms), 7 retention (ms),
--       8 session member or '', 9 session expires-at (beat) or leave grace in ms (end),
--       10 min interval ms (beat; 0 = none),
--       11 transport, 12 available '' | '1' | '0', 13 availability TTL (ms), 14 explicit until (ms) or '',
--       15 gateway instance entry 'user|connection' or '', 16 reason of the transition,
--       17 specialties: '' unchanged, '=' followed by the csv to store ('=' alone clears)
local op = ARGV[1]
local id = ARGV[2]
local now = tonumber(ARGV[3])

local function state()
  return redis.call('HGET', KEYS[8], 'status') or 'offline'
end

-- The availability a reader would see now: the flag (not lapsed) and the explicit until, when one was given.
local function availability()
  local lapse = redis.call('ZSCORE', KEYS[4], id)
  if lapse and tonumber(lapse) > now then
    return true, redis.call('HGET', KEYS[5], id)
  end
  return false, nil
end

-- The user's board entry (docs/architecture.md, "Board entries"): 'id|ver|status|until|specialties', status o(nline),
-- r(ecent) or f (offline); the id again in the value, so a reader takes the values alone (HVALS). Written with every event and on a change of specialties, never on a steady beat;
-- removed once the user is offline and not available, so the shard's entries are the users a board may list.
local function boardEntry(verText, status, available, untilMs)
  if status == 'offline' and not available then
    redis.call('HDEL', KEYS[12], id)
    return
  end
  local code = 'f'
  if status == 'online' then code = 'o' elseif status == 'recent' then code = 'r' end
  redis.call('HSET', KEYS[12], id, id .. '|' .. verText .. '|' .. code .. '|' .. (untilMs or '') .. '|' .. (redis.call('HGET', KEYS[6], id) or ''))
end

-- The one event format: the whole state after the change (docs/architecture.md, "Events").
local function emit(reason)
  local ver = redis.call('HGET', KEYS[7], id)
  -- A user forgotten after the retention starts again at the current time, above any version a client still holds.
  if ver then ver = tonumber(ver) + 1 else ver = now end
  local verText = string.format('%.0f', ver)
  redis.call('HSET', KEYS[7], id, verText)
  local status = state()
  local fields = {'role', ARGV[4], 'id', id, 'ver', verText, 'at', ARGV[3], 'status', status}
  local available, untilMs = availability()
  if available then
    table.insert(fields, 'available'); table.insert(fields, '1')
    if untilMs then table.insert(fields, 'availableUntil'); table.insert(fields, untilMs) end
  else
    table.insert(fields, 'available'); table.insert(fields, '0')
  end
  boardEntry(verText, status, available, untilMs)
  -- The last-seen score is the exact last activity (the user hash's copy is refreshed only now and then).
  local lastActive = redis.call('ZSCORE', KEYS[1], id)
  if lastActive then table.insert(fields, 'lastActive'); table.insert(fields, lastActive) end
  table.insert(fields, 'reason'); table.insert(fields, reason)
  redis.call('XADD', KEYS[10], 'MAXLEN', '~', ARGV[5], '*', unpack(fields))
  return ver
end

-- online -> recent now. ZREM returning 1 decides who emits, so racing writers report it once.
local function leave(reason)
  if redis.call('ZREM', KEYS[2], id) == 0 or state() ~= 'online' then
    return 0
  end
  redis.call('HSET', KEYS[8], 'status', 'recent')
  redis.call('HDEL', KEYS[8], 'leave')
  local lastActive = tonumber(redis.call('ZSCORE', KEYS[1], id) or ARGV[3])
  redis.call('ZADD', KEYS[3], lastActive + tonumber(ARGV[6]), id)
  return emit(reason)
end

-- Drops sessions whose time passed; re-indexes the user at the latest live one. True when one is live.
local function live()
  redis.call('ZREMRANGEBYSCORE', KEYS[9], '-inf', now)
  local top = redis.call('ZRANGE', KEYS[9], -1, -1, 'WITHSCORES')
  if #top > 0 then
    redis.call('ZADD', KEYS[2], top[2], id)
    return true
  end
  return false
end

-- Sets or clears availability; true when the visible state (flag or explicit until) changed.
local function setAvailability(flag, explicit)
  local lapseWas = redis.call('ZSCORE', KEYS[4], id)
  local was = lapseWas ~= false and tonumber(lapseWas) > now
  local wasUntil = redis.call('HGET', KEYS[5], id)
  if flag == '1' then
    local lapse = now + tonumber(ARGV[13])
    if explicit == nil then
      -- A renewal keeps a stated until that is still ahead; one that passed is replaced by the TTL.
      if wasUntil and tonumber(wasUntil) > now then explicit = wasUntil else explicit = '' end
    end
    if explicit ~= '' then
      if tonumber(explicit) < lapse then lapse = tonumber(explicit) end
      redis.call('HSET', KEYS[5], id, explicit)
    else
      redis.call('HDEL', KEYS[5], id)
    end
    redis.call('ZADD', KEYS[4], lapse, id)
    return (not was) or (explicit ~= (wasUntil or ''))
  end
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  return was
end

if op == 'beat' then
  local minInterval = tonumber(ARGV[10])
  if minInterval > 0 then
    -- The guard is the session's own score (expires-at = the last accepted beat + the window, on the service's clock,
    -- so every replica and every test clock agrees on one timeline), as in beat.lua: a sign-off removes it.
    local last = redis.call('ZSCORE', KEYS[9], ARGV[8])
    if last then
      local since = tonumber(ARGV[9]) - tonumber(last)
      if since < minInterval then
        return {0, math.min(minInterval, minInterval - since), 0}
      end
    end
  end
  -- One read of what decides the path: the steady state (online, no leave pending) skips the re-index.
  local user = redis.call('HMGET', KEYS[8], 'status', 'leave')
  local steady = user[1] == 'online' and not user[2]
  redis.call('ZREMRANGEBYSCORE', KEYS[9], '-inf', now)
  redis.call('ZADD', KEYS[9], 'GT', ARGV[9], ARGV[8])
  redis.call('PEXPIRE', KEYS[9], ARGV[7])
  if ARGV[15] ~= '' then redis.call('SADD', KEYS[11], ARGV[15]) end
  redis.call('ZADD', KEYS[1], 'GT', now, id)
  redis.call('HSET', KEYS[8], 'lastActive', ARGV[3], 'lastHeartbeat', ARGV[3], 'transport', ARGV[11])
  redis.call('PEXPIRE', KEYS[8], ARGV[7])
  if steady then
    -- Online without a pending leave: the online index already holds the latest live session, and sessions
    -- only move forward here (ZADD GT), so the new latest is the larger of the two; not in 'recent'.
    redis.call('ZADD', KEYS[2], 'GT', ARGV[9], id)
  else
    -- A beat inside the leave grace cancels the leave: nothing is emitted.
    if user[2] then redis.call('HDEL', KEYS[8], 'leave') end
    live()
    redis.call('ZREM', KEYS[3], id)
  end
  -- Specialties are written only when they differ (a read in place of the write a steady beat used to make).
  local profileChanged = false
  if ARGV[17] ~= '' then
    local csv = string.sub(ARGV[17], 2)
    if (redis.call('HGET', KEYS[6], id) or '') ~= csv then
      profileChanged = true
      if csv == '' then redis.call('HDEL', KEYS[6], id) else redis.call('HSET', KEYS[6], id, csv) end
    end
  end
  local changed = false
  if ARGV[12] ~= '' then changed = setAvailability(ARGV[12], nil) end
  if user[1] ~= 'online' then
    redis.call('HSET', KEYS[8], 'status', 'online')
    return {1, 1, emit(ARGV[16])}
  end
  if changed then return {1, 0, emit('set')} end
  if profileChanged then
    -- Specialties are not part of an event, but they are of the board entry.
    local available, untilMs = availability()
    boardEntry(redis.call('HGET', KEYS[7], id) or '0', 'online', available, untilMs)
  end
  return {1, 0, 0}
end

if op == 'end' or op == 'drop' then
  -- 'end': the client ended the session (sign-off, close): the last one leaves after the grace.
  -- 'drop': the session was lost (lapsed gateway instance): the last one leaves now.
  local removed = redis.call('ZREM', KEYS[9], ARGV[8])
  if ARGV[15] ~= '' then redis.call('SREM', KEYS[11], ARGV[15]) end
  if live() then return {0, 0} end
  -- A lost session that was already gone (closed, expired) changes nothing; neither does a second leave.
  if op == 'drop' and removed == 0 then return {1, 0} end
  if redis.call('HEXISTS', KEYS[8], 'leave') == 1 then return {2, 0} end
  if state() ~= 'online' then
    redis.call('ZREM', KEYS[2], id)
    return {1, 0}
  end
  local grace = tonumber(ARGV[9])
  if op == 'end' and grace > 0 then
    redis.call('HSET', KEYS[8], 'leave', '1')
    redis.call('ZADD', KEYS[2], now + grace, id)
    return {2, 0}
  end
  return {3, leave(ARGV[16])}
end

if op == 'settle' then
  -- The janitor found the user due in the online index: the latest session (or the leave grace) has passed.
  local due = redis.call('ZSCORE', KEYS[2], id)
  if not due or tonumber(due) > now then return 0 end
  if live() then return 0 end
  local reason = 'timeout'
  if redis.call('HEXISTS', KEYS[8], 'leave') == 1 then reason = 'signoff' end
  if state() ~= 'online' then
    redis.call('ZREM', KEYS[2], id)
    return 0
  end
  if leave(reason) == 0 then return 0 end
  return 1
end

if op == 'window' then
  local due = redis.call('ZSCORE', KEYS[3], id)
  if not due or tonumber(due) > now then return 0 end
  if redis.call('ZREM', KEYS[3], id) == 0 or state() ~= 'recent' then return 0 end
  redis.call('HSET', KEYS[8], 'status', 'offline')
  emit('window-ended')
  return 1
end

if op == 'lapse' then
  local due = redis.call('ZSCORE', KEYS[4], id)
  if not due or tonumber(due) > now then return 0 end
  if redis.call('ZREM', KEYS[4], id) == 0 then return 0 end
  redis.call('HDEL', KEYS[5], id)
  emit('expired')
  return 1
end

if op == 'avail' then
  if setAvailability(ARGV[12], ARGV[14]) then return {1, emit('set')} end
  return {0, 0}
end

return redis.error_reply('unknown presence operation ' .. tostring(op))
