-- Describe a storage key: {1, size, mtime} for a file, {0} for a directory,
-- nil when it does not exist. The root ("") is always a directory.
-- KEYS: data, mtime, index. ARGV: key.
local key = ARGV[1]
if key == '' then
	return {0}
end
if redis.call('ZSCORE', KEYS[3], key) then
	return {1, redis.call('HSTRLEN', KEYS[1], key), redis.call('HGET', KEYS[2], key)}
end
if #redis.call('ZRANGEBYLEX', KEYS[3], '[' .. key .. '/', '(' .. key .. '0', 'LIMIT', 0, 1) > 0 then
	return {0}
end
return false
