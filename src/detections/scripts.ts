/**
 * The detection state's Lua scripts. Each touches one key of one workload (on its slot tag),
 * takes every time from its arguments (the event's), and sets the key's expiry, so state
 * never outlives its window, history or cool-down.
 */

/** KEYS: window zset. ARGV: at, floor, member, max, ttl ms. Returns members with scores. */
export const ADD_TO_WINDOW = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
local n = redis.call('ZCARD', KEYS[1])
local max = tonumber(ARGV[4])
if n > max then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - max - 1) end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
`;

/** KEYS: history zset. ARGV: at, floor, max, ttl ms, values… Returns {known, fresh values}. */
export const REMEMBER = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local known = redis.call('ZCARD', KEYS[1])
local at = tonumber(ARGV[1])
local fresh = {}
for i = 5, #ARGV do
  local seen = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if not seen then table.insert(fresh, ARGV[i]) end
  if (not seen) or tonumber(seen) < at then redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i]) end
end
local n = redis.call('ZCARD', KEYS[1])
local max = tonumber(ARGV[3])
if n > max then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - max - 1) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {known, fresh}
`;

/** KEYS: bucket hash. ARGV: bucket, span, ttl ms. Returns {current, previous}. */
export const COUNT_IN_BUCKET = `
local bucket = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
local current = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local previous = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local b = tonumber(all[i])
  if b < bucket - span then redis.call('HDEL', KEYS[1], all[i])
  elseif b < bucket then previous = previous + tonumber(all[i + 1]) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {current, previous}
`;

/** KEYS: cool-down string (its value: until when, ms). ARGV: at, cooldown ms. 1 = started. */
export const START_COOLDOWN = `
local ends = redis.call('GET', KEYS[1])
if ends and tonumber(ARGV[1]) < tonumber(ends) then return 0 end
redis.call('SET', KEYS[1], tostring(tonumber(ARGV[1]) + tonumber(ARGV[2])), 'PX', ARGV[2])
return 1
`;
