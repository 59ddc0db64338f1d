-- One admission decision: GCRA throttle, quota window and concurrency lease,
-- checked together and charged only when all three admit.
-- KEYS[1] throttle tat   KEYS[2] quota window   KEYS[3] day usage hash
-- KEYS[4] lease zset
-- ARGV[1] now (µs)          ARGV[2] throttle interval (µs, 0 = none)
-- ARGV[3] burst             ARGV[4] quota limit (-1 = none)
-- ARGV[5] cost              ARGV[6] quota window end (µs)
-- ARGV[7] day ttl (s)       ARGV[8] concurrency limit (0 = none)
-- ARGV[9] lease id          ARGV[10] lease ttl (µs)
-- Returns {outcome, retry_us, throttle_tat_us, quota_used}; outcome 0
-- admitted, 1 throttled, 2 quota exceeded, 3 concurrency limited.
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local window_end = tonumber(ARGV[6])
local climit = tonumber(ARGV[8])

local tat = now
if interval > 0 then
  local stored = redis.call('GET', KEYS[1])
  if stored then
    stored = tonumber(stored)
    if stored > now then tat = stored end
  end
  local allow_at = tat + interval - burst * interval
  if allow_at > now then
    return {1, allow_at - now, 0, 0}
  end
  tat = tat + interval
end

local used = 0
if limit >= 0 then
  used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used + cost > limit then
    return {2, window_end - now, 0, used}
  end
end

if climit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
  if redis.call('ZCARD', KEYS[4]) >= climit then
    return {3, 1000000, 0, used}
  end
  local lease_until = now + tonumber(ARGV[10])
  redis.call('ZADD', KEYS[4], lease_until, ARGV[9])
  redis.call('PEXPIRE', KEYS[4], math.ceil(tonumber(ARGV[10]) / 1000))
end

if interval > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
if limit >= 0 then
  used = redis.call('INCRBY', KEYS[2], cost)
  redis.call('PEXPIRE', KEYS[2], math.ceil((window_end - now) / 1000) + 86400000)
  redis.call('HINCRBY', KEYS[3], 'u', cost)
  redis.call('HSET', KEYS[3], 'r', limit - used)
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[7]))
end
return {0, 0, string.format('%.0f', tat), used}
