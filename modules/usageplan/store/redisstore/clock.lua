-- Shared by the scripts that need the time: Redis's own clock (TIME), so
-- every gateway instance decides with the same clock whatever its own says,
-- and the UTC calendar windows of store.Quota.Window computed from it.
-- Times are microseconds since the Unix epoch (exact in a Lua double).
local DAY = 86400000000

-- clock returns arg when it is a positive time (tests inject one), else
-- the Redis server's time.
local function clock(arg)
  local n = tonumber(arg)
  if n and n > 0 then return n end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- civil_from_days and days_from_civil convert between days since
-- 1970-01-01 and a proleptic Gregorian date (H. Hinnant's algorithms).
local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m
  if mp < 10 then m = mp + 3 else m = mp - 9 end
  if m <= 2 then y = y + 1 end
  return y, m, d
end

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp
  if m > 2 then mp = m - 3 else mp = m + 9 end
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- quota_window is store.Quota.Window: the UTC day, week (from Monday) or
-- month holding now, every start moved later by offset (all in µs).
local function quota_window(now, period, offset)
  local day = math.floor((now - offset) / DAY)
  local s, e
  if period == 'week' then
    s = (day - (day + 3) % 7) * DAY -- 1970-01-01 was a Thursday
    e = s + 7 * DAY
  elseif period == 'month' then
    local y, m = civil_from_days(day)
    s = days_from_civil(y, m, 1) * DAY
    if m == 12 then y, m = y + 1, 1 else m = m + 1 end
    e = days_from_civil(y, m, 1) * DAY
  else
    s = day * DAY
    e = s + DAY
  end
  return s + offset, e + offset
end

-- int formats an integral number without an exponent (%d: a float format
-- costs several times more in glibc, and a number handed to redis.call is
-- formatted as a float).
local function int(x) return string.format('%d', x) end

-- day_name is the YYYYMMDD of the UTC day starting at day_start (µs).
local function day_name(day_start)
  local y, m, d = civil_from_days(math.floor(day_start / DAY))
  return string.format('%04d%02d%02d', y, m, d)
end

-- refund_counts gives cost units back to the window whose start is
-- wstart (µs) in the plan hash, if it is still the current one there, and
-- to the UTC day starting at dstart: in the plan hash while it is the
-- current day there, else in its day hash dkey. A count that was at least
-- 0 is not taken below 0 (a charge from before a reset); a count an
-- admin's quota extension made negative is not clamped (that would erase
-- the extension). Returns the window's use.
local function refund_counts(hkey, wstart, dstart, dkey, cost, limit)
  local h = redis.call('HMGET', hkey, 'ws', 'dn')
  local used = 0
  if tonumber(h[1]) == wstart then
    used = redis.call('HINCRBY', hkey, 'u', -cost)
    if used < 0 and used + cost >= 0 then
      redis.call('HSET', hkey, 'u', 0)
      used = 0
    end
  end
  if tonumber(h[2]) == dstart then
    local day = redis.call('HINCRBY', hkey, 'du', -cost)
    if day < 0 and day + cost >= 0 then redis.call('HSET', hkey, 'du', 0) end
    redis.call('HSET', hkey, 'dr', limit - used)
  elseif redis.call('EXISTS', dkey) == 1 then
    local day = redis.call('HINCRBY', dkey, 'u', -cost)
    if day < 0 and day + cost >= 0 then redis.call('HSET', dkey, 'u', 0) end
    redis.call('HSET', dkey, 'r', limit - used)
  end
  return used
end
