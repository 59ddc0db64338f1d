-- Resets or extends a key's current quota window (API Gateway update-usage),
-- the window and day taken from the Redis server's clock (clock.lua).
-- KEYS[1] quota window key prefix   KEYS[2] day usage key prefix
-- ARGV[1] "reset" or "extend"   ARGV[2] extend amount   ARGV[3] limit
-- ARGV[4] now (µs; 0 = Redis TIME)   ARGV[5] quota period   ARGV[6] offset (µs)
-- ARGV[7] day ttl (s)
local now = clock(ARGV[4])
local wstart, wend = quota_window(now, ARGV[5], tonumber(ARGV[6]))
local wkey = KEYS[1] .. int(math.floor(wstart / 1000000))
local _, day_name = utc_day(now)
local dkey = KEYS[2] .. day_name
local ttl = math.ceil((wend - now) / 1000) + 86400000
local used
if ARGV[1] == 'reset' then
  redis.call('SET', wkey, 0, 'PX', ttl)
  used = 0
else
  used = redis.call('DECRBY', wkey, tonumber(ARGV[2]))
  redis.call('PEXPIRE', wkey, ttl)
end
redis.call('HSET', dkey, 'r', tonumber(ARGV[3]) - used)
redis.call('EXPIRE', dkey, tonumber(ARGV[7]))
return used
