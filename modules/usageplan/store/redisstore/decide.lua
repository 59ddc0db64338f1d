-- Admission decisions: GCRA throttle, quota window and concurrency lease,
-- checked together and charged only when all three admit. The time is the
-- Redis server's (see clock.lua), so instance clocks do not matter. One call
-- makes n decisions with the same key, plan, bucket, limits and cost (the
-- ones an instance has waiting while its previous call for them is under
-- way; see batch.go), one after the other exactly as n calls would, but
-- with one read and one write of each hash.
-- Throttle buckets, the quota window and the current UTC day of a key under
-- a plan live in one hash (one read, one write per decision): fields
-- t:<bucket> (the bucket's theoretical arrival time, µs), ws (window start,
-- µs), u (units used in the window), dn (current day start, µs), du (units
-- used that day), dr (quota remaining after them), lu (when the key's
-- last-used time was last written, µs) and tomb (until when an undo's
-- tombstone may exist, µs; see undo.lua). The first decision of a new day
-- moves the previous day to its day hash (YYYYMMDD), where the usage API
-- reads past days. Window start and day are written only when they change,
-- the last-used time at most once a minute per key and plan (LAST_USED_EVERY),
-- and the decision marker is looked up only while the plan hash says a
-- tombstone may exist: each Redis call a script makes costs about as much
-- as the command itself.
-- KEYS[1] plan hash   KEYS[2] legacy window key prefix (+ start s; read
-- once after an upgrade)   KEYS[3] day usage key prefix (+ YYYYMMDD)
-- KEYS[4] lease zset   KEYS[5] the key's last-used time
-- KEYS[6..5+nb] the budgets' meter hashes (laid out like the plan hash: ws,
-- u, dn, du, dr; see meter.lua)   KEYS[6+nb..5+nb+n] the decisions' markers
-- (undo.lua)
-- ARGV[1] now (µs; 0 = Redis TIME)   ARGV[2] throttle interval (µs, 0 = none)
-- ARGV[3] burst             ARGV[4] quota limit (-1 = none)
-- ARGV[5] cost              ARGV[6] quota period (day, week, month)
-- ARGV[7] quota offset (µs) ARGV[8] day ttl (s)
-- ARGV[9] concurrency limit (0 = none)
-- ARGV[10] number of decisions n (1 when there are budgets)
-- ARGV[11] lease ttl (µs)   ARGV[12] decision marker ttl (ms)
-- ARGV[13] throttle bucket name
-- ARGV[14] number of budgets nb; then for each budget its limit
-- (micro-units), period and offset (µs)
-- ARGV[15+3nb..14+3nb+n] the decisions' ids (lease member; '' = none)
-- ARGV[15+3nb+n..] leases of this lease set to release first (releases this
-- instance has not sent yet)
-- Day keys are built here from their prefix (same hash tag, so the same
-- Redis Cluster slot).
-- Returns, for each decision in turn, {outcome, retry_us, throttle_tat_us,
-- quota_used, now_us, window_start_us, window_end_us, utc_day_us, exhausted
-- budget index (-1 none)}, then (one decision, admitted) each budget's
-- remaining and reset (µs); outcome 0 admitted, 1 throttled, 2 quota
-- exceeded, 3 concurrency limited, 4 undone before it ran (the client gave
-- up and undo.lua came first), 5 a budget without room (retry_us is its
-- window's end).
local LAST_USED_EVERY = 60000000
local nb = tonumber(ARGV[14])
local n = tonumber(ARGV[10])
local first_id = 15 + 3 * nb
if #ARGV >= first_id + n then
  redis.call('ZREM', KEYS[4], unpack(ARGV, first_id + n))
end
local now = clock(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local climit = tonumber(ARGV[9])
local tfield = 't:' .. ARGV[13]
local h = redis.call('HMGET', KEYS[1], tfield, 'ws', 'u', 'dn', 'du', 'lu', 'tomb')
local tomb = tonumber(h[7])
if tomb and tomb <= now then tomb = nil end

local wstart, wend = 0, 0
local used = 0
local new_window = false
if limit >= 0 then
  wstart, wend = quota_window(now, ARGV[6], tonumber(ARGV[7]))
  local stored = tonumber(h[2])
  if stored == wstart then
    used = tonumber(h[3]) or 0
  else
    new_window = true
    if not stored then
      -- The window may still be under its name from before one hash per
      -- key and plan.
      used = tonumber(redis.call('GET', KEYS[2] .. int(math.floor(wstart / 1000000))) or '0')
    end
  end
end
local day_start = math.floor(now / DAY) * DAY

local tat = now
if interval > 0 then
  local stored = tonumber(h[1])
  if stored and stored > now then tat = stored end
end

-- Budgets are checked, not charged (meter.lua charges after the response):
-- a request is admitted while every budget has room.
local room = {}
local bfull, bend_full
for i = 1, nb do
  local a = 14 + (i - 1) * 3
  local blimit = tonumber(ARGV[a + 1])
  local bstart, bend = quota_window(now, ARGV[a + 2], tonumber(ARGV[a + 3]))
  local bh = redis.call('HMGET', KEYS[5 + i], 'ws', 'u')
  local bused = 0
  if tonumber(bh[1]) == bstart then bused = tonumber(bh[2]) or 0 end
  if bused >= blimit then
    bfull, bend_full = i - 1, bend
    break
  end
  room[#room + 1] = blimit - bused
  room[#room + 1] = bend - now
end

local out = {}
local leases = {}     -- ZADD arguments of the admitted decisions
local leases_n       -- lease count (read when first needed)
local lease_until    -- the admitted leases' expiry
local swept = false
local admitted, charged = 0, 0
for k = 1, n do
  local id = ARGV[first_id + k - 1]
  local o = (k - 1) * 9
  local outcome, retry = 0, 0
  local allow_at = tat + interval - burst * interval
  if id ~= '' and tomb and redis.call('EXISTS', KEYS[5 + nb + k]) == 1 then
    outcome = 4
  elseif interval > 0 and allow_at > now then
    outcome, retry = 1, allow_at - now
  elseif limit >= 0 and used + cost > limit then
    outcome, retry = 2, wend - now
  elseif bfull then
    outcome, retry = 5, bend_full - now
  elseif climit > 0 then
    if not leases_n then
      leases_n = redis.call('ZCARD', KEYS[4])
    end
    if leases_n >= climit and not swept then
      swept = true
      redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', int(now))
      leases_n = redis.call('ZCARD', KEYS[4]) + #leases / 2
    end
    if leases_n >= climit then
      outcome, retry = 3, 1000000
    else
      leases_n = leases_n + 1
      if not lease_until then lease_until = int(now + tonumber(ARGV[11])) end
      leases[#leases + 1] = lease_until
      leases[#leases + 1] = id
    end
  end
  if outcome == 0 then
    admitted = admitted + 1
    if interval > 0 then tat = tat + interval end
    if limit >= 0 then
      used = used + cost
      charged = charged + cost
      if id ~= '' and cost > 0 and climit == 0 then
        -- What undo.lua needs to give the units back exactly once (with a
        -- lease, the lease itself says whether the decision ran).
        redis.call('SET', KEYS[5 + nb + k], int(cost) .. '\n' .. int(limit) .. '\n' .. int(wstart) .. '\n' .. int(day_start), 'PX', ARGV[12])
      end
    end
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 0, 0, tat, used
  elseif outcome == 1 then
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 1, retry, 0, 0
  elseif outcome == 4 then
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 4, 0, 0, 0
  else
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = outcome, retry, 0, used
  end
  if outcome == 4 then
    out[o + 5], out[o + 6], out[o + 7], out[o + 8] = 0, 0, 0, 0
  else
    out[o + 5], out[o + 6], out[o + 7], out[o + 8] = now, wstart, wend, day_start
  end
  if outcome == 5 then out[o + 9] = bfull else out[o + 9] = -1 end
end
if admitted == 0 then
  return out
end

if #leases > 0 then
  redis.call('ZADD', KEYS[4], unpack(leases))
  redis.call('PEXPIRE', KEYS[4], int(math.ceil(tonumber(ARGV[11]) / 1000)))
end

-- The key's last-used time, written when this plan hash last wrote it
-- more than LAST_USED_EVERY ago (or never); lu goes into the plan hash
-- write below, when there is one.
local lu = tonumber(h[6])
local write_lu = not lu or now - lu >= LAST_USED_EVERY or now < lu
if write_lu then
  redis.call('SET', KEYS[5], int(now), 'EX', ARGV[8])
end

if limit >= 0 then
  local dn = tonumber(h[4])
  local du = tonumber(h[5]) or 0
  if dn ~= day_start then
    if dn then
      -- A new UTC day: the previous one goes to its day hash, with the
      -- quota that was left at its end.
      local old = KEYS[3] .. day_name(dn)
      redis.call('HSET', old, 'u', int(du), 'r', int(limit - (tonumber(h[3]) or 0)))
      redis.call('EXPIRE', old, ARGV[8])
      du = 0
    else
      -- The first decision since the plan hash exists: today's use so far
      -- may be in today's day hash (refunds, an upgrade).
      du = tonumber(redis.call('HGET', KEYS[3] .. day_name(day_start), 'u') or '0')
    end
  end
  du = du + charged
  local f = {'u', int(used), 'du', int(du), 'dr', int(limit - used)}
  if interval > 0 then
    f[#f + 1], f[#f + 2] = tfield, int(tat)
  end
  if new_window then
    f[#f + 1], f[#f + 2] = 'ws', int(wstart)
  end
  if dn ~= day_start then
    f[#f + 1], f[#f + 2] = 'dn', int(day_start)
  end
  if write_lu then
    f[#f + 1], f[#f + 2] = 'lu', int(now)
  end
  redis.call('HSET', KEYS[1], unpack(f))
  if new_window or dn ~= day_start then
    -- Kept a day past the window's end and past the day's end (refunds
    -- of late requests; the day hash takes over when the next day starts).
    redis.call('PEXPIRE', KEYS[1], int(math.ceil(math.max(wend, day_start + DAY) / 1000 - now / 1000) + 86400000))
  end
elseif interval > 0 then
  if write_lu then
    redis.call('HSET', KEYS[1], tfield, int(tat), 'lu', int(now))
  else
    redis.call('HSET', KEYS[1], tfield, int(tat))
  end
  -- Kept until the bucket is full again, and while an undo's tombstone
  -- may exist.
  local ttl = math.ceil((tat - now) / 1000) + 1000
  if tomb then ttl = math.max(ttl, math.ceil((tomb - now) / 1000)) end
  redis.call('PEXPIRE', KEYS[1], int(ttl))
end
if n == 1 then
  for i = 1, #room do out[9 + i] = room[i] end
end
return out
