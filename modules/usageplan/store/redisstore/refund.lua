-- Gives a charge's quota units back.
-- KEYS[1] quota window   KEYS[2] day usage hash
-- ARGV[1] cost   ARGV[2] quota limit
local used = redis.call('DECRBY', KEYS[1], tonumber(ARGV[1]))
if used < 0 then
  redis.call('SET', KEYS[1], 0, 'KEEPTTL')
  used = 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  local day = redis.call('HINCRBY', KEYS[2], 'u', -tonumber(ARGV[1]))
  if day < 0 then redis.call('HSET', KEYS[2], 'u', 0) end
  redis.call('HSET', KEYS[2], 'r', tonumber(ARGV[2]) - used)
end
return used
