-- Undoes a decision whose answer the client never got (it timed out or
-- was cancelled): frees its lease and gives its quota units back, exactly
-- once. A decision with a lease is known to have run by its lease (never
-- renewed, so its score minus the lease ttl is the decision's time, which
-- names the window and day it charged); one without a lease left a marker.
-- When the undo runs before the decision itself, the tombstone it leaves
-- makes decide.lua refuse (outcome 4) without charging; the plan hash's
-- tomb field tells decide.lua until when to look for one (it looks only
-- then).
-- KEYS[1] decision marker   KEYS[2] lease zset   KEYS[3] plan hash
-- KEYS[4] day usage key prefix (+ YYYYMMDD)
-- ARGV[1] decision id       ARGV[2] tombstone ttl (ms)
-- ARGV[3] cost   ARGV[4] quota limit (-1 = none)   ARGV[5] quota period
-- ARGV[6] quota offset (µs)   ARGV[7] lease ttl (µs)
-- ARGV[8] now (µs; 0 = Redis TIME)
-- Returns 1 when units were given back, 0 otherwise.
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if score then
  redis.call('ZREM', KEYS[2], ARGV[1])
end
local m = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], 'undone', 'PX', ARGV[2])
if not score and (not m or m == 'undone') then
  -- The decision has not run (or ran without charging anything): it must
  -- find the tombstone. The plan hash then lives at least as long.
  local tomb = clock(ARGV[8]) + tonumber(ARGV[2]) * 1000
  local pttl = redis.call('PTTL', KEYS[3])
  local old = tonumber(redis.call('HGET', KEYS[3], 'tomb'))
  if not old or old < tomb then
    redis.call('HSET', KEYS[3], 'tomb', int(tomb))
  end
  if pttl ~= -1 and pttl < tonumber(ARGV[2]) then
    redis.call('PEXPIRE', KEYS[3], ARGV[2])
  end
end
local cost, limit = tonumber(ARGV[3]), tonumber(ARGV[4])
if score then
  if cost <= 0 or limit < 0 then
    return 0
  end
  local t = tonumber(score) - tonumber(ARGV[7])
  local wstart = quota_window(t, ARGV[5], tonumber(ARGV[6]))
  local dstart = math.floor(t / DAY) * DAY
  refund_counts(KEYS[3], wstart, dstart, KEYS[4] .. day_name(dstart), cost, limit)
  return 1
end
if not m or m == 'undone' then
  return 0
end
local c, l, wstart, dstart = string.match(m, '^(%d+)\n(%-?%d+)\n(%d+)\n(%d+)$')
if not c then
  return 0
end
dstart = tonumber(dstart)
refund_counts(KEYS[3], tonumber(wstart), dstart, KEYS[4] .. day_name(dstart), tonumber(c), tonumber(l))
return 1
