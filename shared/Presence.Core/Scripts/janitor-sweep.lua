-- The janitor's online -> recent sweep of one role (DESIGN.md §3): one bounded batch.
-- The range and the removals run in one script, so nothing lands between them: a heartbeat that raised a
-- member's online-until before this script keeps the member out of the range, and one that comes after
-- finds the member gone and appends 'online' itself. ZREM returning 1 is what lets a call append 'recent',
-- the rule every writer of 'online' follows (sign-off, connection sweep), so each transition is emitted
-- once even with two sweepers.
-- KEYS: 1 online, 2 events
-- ARGV: 1 now (unix ms), 2 batch size, 3 stream max length, 4 role
-- Returns {members due, transitions appended}; fewer due than the batch size means the role is caught up.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local emitted = 0
for _, id in ipairs(due) do
  if redis.call('ZREM', KEYS[1], id) == 1 then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'role', ARGV[4], 'id', id, 'status', 'recent', 'at', ARGV[1])
    emitted = emitted + 1
  end
end
return {#due, emitted}
