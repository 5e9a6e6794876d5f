/**
 * Lua scripts for the budgets; each touches one counter key, so each runs on one Redis
 * Cluster slot. Time comes from Redis `TIME`.
 */

/**
 * KEYS: counter. ARGV: limit, window. A fixed window that starts with the counter's first
 * admitted request and ends `window` later (the key's TTL); a refused request is not counted.
 * Returns {1} or {0, ms until the window ends}.
 */
export const ADMIT_REQUEST = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    left = tonumber(ARGV[2])
  end
  return {0, left}
end
if redis.call('INCR', KEYS[1]) == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return {1}
`;

/** KEYS: counter. Takes back one admitted request (a later budget refused it). */
export const RETURN_REQUEST = `
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then
  redis.call('DECR', KEYS[1])
end
return 1
`;

/**
 * KEYS: counter. ARGV: lease id, limit, live until (ms). Drops leases past their last
 * possible moment, then holds the lease when there is room. The key lives as long as its
 * longest-lived lease. Returns {1} or {0, the held lease ids}.
 */
export const RESERVE_LIVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return {0, redis.call('ZRANGE', KEYS[1], 0, -1)}
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1000, math.floor(tonumber(last[2]) - now + 60000)))
return {1}
`;
