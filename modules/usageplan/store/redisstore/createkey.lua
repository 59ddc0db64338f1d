-- Creates a key unless its id or hash is taken.
-- KEYS[1] id index (key:<id> -> hash)   KEYS[2] record (keyhash:<hash> -> JSON)
-- KEYS[3] key id set
-- ARGV[1] record JSON   ARGV[2] hash   ARGV[3] key id
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
return 1
