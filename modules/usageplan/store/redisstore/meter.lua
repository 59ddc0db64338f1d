-- Charges the metered units of one response (after it), exactly once per
-- once-id when one is given. A meter's counters are laid out like a plan's
-- quota counters (decide.lua): a hash with the window start and use (ws,
-- u) and the current UTC day (dn, du, dr), past days in day hashes. A
-- budget is checked by decide.lua and never refuses a charge here: a call
-- in flight may overshoot it.
-- KEYS[1] once mark   KEYS[2k] meter hash, KEYS[2k+1] its day key prefix
-- ARGV[1] now (µs; 0 = Redis TIME)   ARGV[2] once ttl (ms; 0 = no once)
-- ARGV[3] day ttl (s); then per meter: units, limit (-1 none), period,
-- offset (µs)
-- Returns 1 when charged, 0 when the once-id was charged before.
if tonumber(ARGV[2]) > 0 then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', tonumber(ARGV[2])) then
    return 0
  end
end
local now = clock(ARGV[1])
local day_start = math.floor(now / DAY) * DAY
local dayttl = tonumber(ARGV[3])
local n = (#KEYS - 1) / 2
for k = 1, n do
  local hkey, dprefix = KEYS[2 * k], KEYS[2 * k + 1]
  local a = 3 + (k - 1) * 4
  local cost, limit = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local wstart, wend = quota_window(now, ARGV[a + 3], tonumber(ARGV[a + 4]))
  local h = redis.call('HMGET', hkey, 'ws', 'u', 'dn', 'du')
  local used = 0
  if tonumber(h[1]) == wstart then used = tonumber(h[2]) or 0 end
  local dn = tonumber(h[3])
  local du = tonumber(h[4]) or 0
  if dn ~= day_start then
    if dn then
      local old = dprefix .. day_name(dn)
      redis.call('HSET', old, 'u', int(du), 'r', int(limit - (tonumber(h[2]) or 0)))
      redis.call('EXPIRE', old, dayttl)
      du = 0
    else
      du = tonumber(redis.call('HGET', dprefix .. day_name(day_start), 'u') or '0')
    end
  end
  used = used + cost
  du = du + cost
  redis.call('HSET', hkey, 'ws', int(wstart), 'u', int(used), 'dn', int(day_start), 'du', int(du), 'dr', int(limit - used))
  redis.call('PEXPIRE', hkey, math.ceil(math.max(wend, day_start + DAY) / 1000 - now / 1000) + 86400000)
end
return 1
