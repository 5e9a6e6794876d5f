/**
 * The detection state's Lua script. Each operation touches one key of one workload (on its
 * slot tag), takes every time from its arguments (the event's), and sets the key's expiry,
 * so state never outlives its window, history or cool-down. The operations an event causes
 * across every rule (all on the same workload, so on one slot) run as one script call.
 */

const OPERATIONS = `
-- window zset. a: at, floor, member, max, ttl ms. Returns members with scores.
local function add_to_window(key, a)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', a[2])
  redis.call('ZADD', key, a[1], a[3])
  local n = redis.call('ZCARD', key)
  local max = tonumber(a[4])
  if n > max then redis.call('ZREMRANGEBYRANK', key, 0, n - max - 1) end
  redis.call('PEXPIRE', key, a[5])
  return redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
end

-- history zset. a: at, floor, max, ttl ms, values... Returns {known, fresh values}.
local function remember(key, a)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', a[2])
  local known = redis.call('ZCARD', key)
  local at = tonumber(a[1])
  local fresh = {}
  for i = 5, #a do
    local seen = redis.call('ZSCORE', key, a[i])
    if not seen then table.insert(fresh, a[i]) end
    if (not seen) or tonumber(seen) < at then redis.call('ZADD', key, a[1], a[i]) end
  end
  local n = redis.call('ZCARD', key)
  local max = tonumber(a[3])
  if n > max then redis.call('ZREMRANGEBYRANK', key, 0, n - max - 1) end
  redis.call('PEXPIRE', key, a[4])
  return {known, fresh}
end

-- bucket hash. a: bucket, span, ttl ms. Returns {current, previous}.
local function count_in_bucket(key, a)
  local bucket = tonumber(a[1])
  local span = tonumber(a[2])
  local current = redis.call('HINCRBY', key, a[1], 1)
  local previous = 0
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local b = tonumber(all[i])
    if b < bucket - span then redis.call('HDEL', key, all[i])
    elseif b < bucket then previous = previous + tonumber(all[i + 1]) end
  end
  redis.call('PEXPIRE', key, a[3])
  return {current, previous}
end

-- cool-down string (its value: until when, ms). a: at, cooldown ms. 1 = started.
local function start_cooldown(key, a)
  local ends = redis.call('GET', key)
  if ends and tonumber(a[1]) < tonumber(ends) then return 0 end
  redis.call('SET', key, tostring(tonumber(a[1]) + tonumber(a[2])), 'PX', a[2])
  return 1
end
`;

/**
 * KEYS: one per operation. ARGV: for each operation its code (`w`, `h`, `b`, `c`), its
 * argument count, then its arguments. Returns each operation's answer, in order.
 */
export const RUN_OPERATIONS = `${OPERATIONS}
local ops = { w = add_to_window, h = remember, b = count_in_bucket, c = start_cooldown }
local out = {}
local at = 1
for k = 1, #KEYS do
  local op = ops[ARGV[at]]
  local n = tonumber(ARGV[at + 1])
  local a = {}
  for i = 1, n do a[i] = ARGV[at + 1 + i] end
  at = at + 2 + n
  out[k] = op(KEYS[k], a)
end
return out
`;
