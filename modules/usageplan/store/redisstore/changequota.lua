-- Resets or extends a key's current quota window (API Gateway update-usage),
-- the window and day taken from the Redis server's clock (clock.lua).
-- KEYS[1] plan hash   KEYS[2] day usage key prefix
-- ARGV[1] "reset" or "extend"   ARGV[2] extend amount   ARGV[3] limit
-- ARGV[4] now (µs; 0 = Redis TIME)   ARGV[5] quota period   ARGV[6] offset (µs)
-- ARGV[7] day ttl (s)
local now = clock(ARGV[4])
local wstart, wend = quota_window(now, ARGV[5], tonumber(ARGV[6]))
local day_start = math.floor(now / DAY) * DAY
local ttl = math.ceil((wend - now) / 1000) + 86400000
local used = 0
if tonumber(redis.call('HGET', KEYS[1], 'ws')) == wstart then
  used = tonumber(redis.call('HGET', KEYS[1], 'u') or '0')
end
if ARGV[1] == 'reset' then
  used = 0
else
  used = used - tonumber(ARGV[2])
end
redis.call('HSET', KEYS[1], 'ws', int(wstart), 'u', int(used))
redis.call('PEXPIRE', KEYS[1], ttl)
if tonumber(redis.call('HGET', KEYS[1], 'dn')) == day_start then
  redis.call('HSET', KEYS[1], 'dr', tonumber(ARGV[3]) - used)
else
  local dkey = KEYS[2] .. day_name(day_start)
  redis.call('HSET', dkey, 'r', tonumber(ARGV[3]) - used)
  redis.call('EXPIRE', dkey, tonumber(ARGV[7]))
end
return used
