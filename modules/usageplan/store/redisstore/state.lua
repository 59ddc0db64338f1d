-- Reads the limiter state of a key under a plan for the operator console:
-- the Redis server's time, the concurrency leases not yet expired, and the
-- theoretical arrival time of each throttle bucket asked for (0 when none).
-- KEYS[1] plan hash   KEYS[2] lease zset
-- ARGV[1] now (µs; 0 = Redis TIME)   ARGV[2..] throttle bucket names
-- Returns {now_us, leases, tat_us...}.
local now = clock(ARGV[1])
local out = {int(now), redis.call('ZCOUNT', KEYS[2], '(' .. int(now), '+inf')}
for i = 2, #ARGV do
  out[#out + 1] = redis.call('HGET', KEYS[1], 't:' .. ARGV[i]) or '0'
end
return out
