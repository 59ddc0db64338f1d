-- Renews the leases this instance holds in one lease set, until the Redis
-- server's time (clock.lua) plus the lease ttl; ZADD XX keeps a lease that
-- was released meanwhile from coming back.
-- KEYS[1] lease zset
-- ARGV[1] now (µs; 0 = Redis TIME)   ARGV[2] lease ttl (µs)   ARGV[3..] ids
local untilt = clock(ARGV[1]) + tonumber(ARGV[2])
for i = 3, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', int(untilt), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) / 1000))
return 0
