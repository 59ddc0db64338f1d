-- Resets or extends a key's current quota window (API Gateway update-usage).
-- KEYS[1] quota window   KEYS[2] day usage hash
-- ARGV[1] "reset" or "extend"   ARGV[2] extend amount   ARGV[3] limit
-- ARGV[4] window ttl (ms)       ARGV[5] day ttl (s)
local used
if ARGV[1] == 'reset' then
  redis.call('SET', KEYS[1], 0, 'PX', tonumber(ARGV[4]))
  used = 0
else
  used = redis.call('DECRBY', KEYS[1], tonumber(ARGV[2]))
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
end
redis.call('HSET', KEYS[2], 'r', tonumber(ARGV[3]) - used)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5]))
return used
