-- Delete a storage key and, when it is a directory, everything below it
-- ("" deletes everything). Returns how many files went.
-- KEYS: data, mtime, index. ARGV: key.
local key = ARGV[1]
local files
if key == '' then
	files = redis.call('ZRANGE', KEYS[3], 0, -1)
else
	files = redis.call('ZRANGEBYLEX', KEYS[3], '[' .. key .. '/', '(' .. key .. '0')
	if redis.call('ZSCORE', KEYS[3], key) then
		files[#files + 1] = key
	end
end
-- unpack() has a stack limit: delete in batches.
local batch = 500
for i = 1, #files, batch do
	local part = {unpack(files, i, math.min(i + batch - 1, #files))}
	redis.call('HDEL', KEYS[1], unpack(part))
	redis.call('HDEL', KEYS[2], unpack(part))
	redis.call('ZREM', KEYS[3], unpack(part))
end
return #files
