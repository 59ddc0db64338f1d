-- Store a value at a storage key, atomically with its modification time and
-- its index entry. A key is a file or a directory, never both: storing
-- below a file or onto a directory fails, as it does on a file system.
-- KEYS: data, mtime, index. ARGV: key, value, the key's ancestors...
redis.replicate_commands()
local key = ARGV[1]
for i = 3, #ARGV do
	if redis.call('ZSCORE', KEYS[3], ARGV[i]) then
		return redis.error_reply('ERR_NOTDIR ' .. ARGV[i])
	end
end
if #redis.call('ZRANGEBYLEX', KEYS[3], '[' .. key .. '/', '(' .. key .. '0', 'LIMIT', 0, 1) > 0 then
	return redis.error_reply('ERR_ISDIR ' .. key)
end
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], key, ARGV[2])
redis.call('HSET', KEYS[2], key, t[1] .. string.format('%06d', tonumber(t[2])))
redis.call('ZADD', KEYS[3], 0, key)
return 1
