-- Gives a charge's quota units back. A count that was at least 0 is not
-- taken below 0 (a charge from before a reset); a count that an admin's
-- quota extension made negative is not clamped (that would erase the
-- extension).
-- KEYS[1] quota window   KEYS[2] day usage hash
-- ARGV[1] cost   ARGV[2] quota limit
local cost = tonumber(ARGV[1])
local used = redis.call('DECRBY', KEYS[1], cost)
if used < 0 and used + cost >= 0 then
  redis.call('SET', KEYS[1], 0, 'KEEPTTL')
  used = 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  local day = redis.call('HINCRBY', KEYS[2], 'u', -cost)
  if day < 0 and day + cost >= 0 then redis.call('HSET', KEYS[2], 'u', 0) end
  redis.call('HSET', KEYS[2], 'r', tonumber(ARGV[2]) - used)
end
return used
