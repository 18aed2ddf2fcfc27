// The Lua script behind RedisStateStore: one call per check, atomic on the
// server. It mirrors engine/memory_state_store.cc meter for meter; times are
// microseconds (Lua numbers are doubles: exact integers up to 2^53, which
// microseconds since 1970 stay well below).
//
// KEYS[1] the key. ARGV[1] the operation:
//   take    meter limit period_us burst period_index period_left_us cost now_us max_delay_us
//   adjust  meter limit period_us burst period_index period_left_us delta now_us taken_at_us
//   acquire limit ttl_us lease now_us
//   release lease
// A `now_us` of -1 means: use the server's clock (TIME), so that gateways on
// different hosts share one time line; `taken_at_us` is then given as an age.
// take and acquire answer {allowed, used, remaining, retry_after_us, reset_us, delay_us}.
#pragma once

namespace tosgate::storage {

inline constexpr const char* kRedisStateScript = R"lua(
local k, op = KEYS[1], ARGV[1]
local function num(i) return tonumber(ARGV[i]) end
local function server_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function clock(i)
  local v = num(i)
  if v < 0 then return server_now() end
  return v
end
local function expire(us)
  redis.call('PEXPIRE', k, math.max(1, math.ceil(us / 1000)))
end

if op == 'release' then
  redis.call('ZREM', k, ARGV[2])
  return 0
end

if op == 'acquire' then
  local limit, ttl, lease, now = num(2), num(3), ARGV[4], clock(5)
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  local held = redis.call('ZCARD', k)
  local allowed, retry = 0, 0
  if held < limit then
    redis.call('ZADD', k, now + ttl, lease)
    held = held + 1
    allowed = 1
  else
    local first = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
    retry = tonumber(first[2]) - now
  end
  local last = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')
  if last[2] then expire(tonumber(last[2]) - now) end
  return {allowed, held, limit - held, retry, 0, 0}
end

local meter, limit, period, burst = ARGV[2], num(3), num(4), num(5)
local pindex, pleft, amount, now = num(6), num(7), num(8), clock(9)
local s = redis.call('HMGET', k, 'a', 'b', 'i')
local a, b, i = tonumber(s[1]) or 0, tonumber(s[2]) or 0, tonumber(s[3])

local function roll(index)
  if i == index then return end
  if i == index - 1 then b = a else b = 0 end
  a, i = 0, index
end
local function save(ttl)
  redis.call('HSET', k, 'a', a, 'b', b, 'i', i or 0)
  expire(ttl)
end

if op == 'adjust' then
  if not s[1] then return 0 end
  local taken = num(10)
  if num(9) < 0 then taken = now - taken end
  if meter == 'window' then
    roll(math.floor(now / period))
    local index = math.floor(taken / period)
    if index == i then a = math.max(0, a + amount)
    elseif index == i - 1 then b = math.max(0, b + amount) end
    save(2 * period)
  elseif meter == 'gcra' then
    local step = math.ceil(period * math.abs(amount) / limit)
    if amount < 0 then a = math.max(now, a - step) else a = math.max(a, now) + step end
    save(math.max(1, a - now))
  else
    if i == pindex then a = math.max(0, a + amount) end
    save(pleft)
  end
  return 0
end

-- take
if meter == 'window' then
  roll(math.floor(now / period))
  local left = period - now % period
  local scaled = b * left + a * period
  local allowed, used, retry = 0, 0, 0
  if scaled + amount * period <= limit * period then
    a = a + amount
    allowed = 1
    used = math.ceil((scaled + amount * period) / period)
  else
    used = math.ceil(scaled / period)
    local wait
    if amount > limit then wait = left + period
    elseif a + amount > limit then wait = left + math.ceil(period * (a + amount - limit) / a)
    else wait = left - math.floor((limit - amount - a) * period / b) end
    retry = math.max(1, wait)
  end
  save(2 * period)
  return {allowed, used, math.max(0, limit - used), retry, left, 0}
elseif meter == 'gcra' then
  local maxdelay = num(10)
  local tat = math.max(a, now)
  local increment = math.ceil(period * amount / limit)
  local capacity = math.floor(period * (burst + 1) / limit)
  local newtat = tat + increment
  local excess = newtat - now - capacity
  local unit = math.max(1, math.floor(period / limit))
  local allowed, remaining, retry, reset, delay = 0, 0, 0, 0, 0
  if excess <= maxdelay then
    a = newtat
    allowed = 1
    delay = math.max(0, excess)
    remaining = math.max(0, math.floor((capacity - (newtat - now)) / unit))
    reset = newtat - now
    save(math.max(1, a - now))
  else
    retry = excess - maxdelay
    reset = tat - now
  end
  return {allowed, limit + burst - remaining, remaining, retry, reset, delay}
else
  if i ~= pindex then a, i = 0, pindex end
  local allowed, retry = 0, 0
  if a + amount <= limit then
    a = a + amount
    allowed = 1
  else
    retry = math.max(1, pleft)
  end
  save(pleft)
  return {allowed, a, math.max(0, limit - a), retry, pleft, 0}
end
)lua";

}  // namespace tosgate::storage
