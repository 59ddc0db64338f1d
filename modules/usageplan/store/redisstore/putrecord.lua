-- Stores a record unless one exists; returns {stored value, 1 if created}.
-- KEYS[1] record   ARGV[1] value   ARGV[2] ttl (ms; 0 = none)
local old = redis.call('GET', KEYS[1])
if old then return {old, 0} end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return {ARGV[1], 1}
