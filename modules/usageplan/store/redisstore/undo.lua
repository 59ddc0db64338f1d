-- Undoes a decision whose answer the client never got (it timed out or
-- was cancelled): frees its lease and gives its quota units back, exactly
-- once. When it runs before the decision itself, the marker it leaves
-- makes decide.lua refuse (outcome 4) without charging.
-- KEYS[1] decision marker   KEYS[2] lease zset   KEYS[3] plan hash
-- ARGV[1] decision id       ARGV[2] tombstone ttl (ms)
-- Returns 1 when units were given back, 0 otherwise.
redis.call('ZREM', KEYS[2], ARGV[1])
local m = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], 'undone', 'PX', tonumber(ARGV[2]))
if not m or m == 'undone' then
  return 0
end
local cost, limit, wstart, dkey = string.match(m, '^(%d+)\n(%-?%d+)\n(%d+)\n([^\n]+)$')
if not cost then
  return 0
end
refund_counts(KEYS[3], tonumber(wstart), dkey, tonumber(cost), tonumber(limit))
return 1
