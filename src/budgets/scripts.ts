/**
 * Lua scripts for the budgets. Each runs over the counters of one owner (a workload's task
 * and workload counters share its hash tag; a policy's counter has its own), so every key a
 * script touches sits on one Redis Cluster slot. Each script is all-or-nothing over its keys:
 * it checks every counter before it changes any. Time comes from Redis `TIME`.
 */

/**
 * KEYS: counters. ARGV: window (ms), then one limit per key. Fixed windows that start with a
 * counter's first admitted request and end `window` later (the key's TTL). Admits the request
 * on every counter, or on none: returns {1} or {0, index of the first full key (1-based),
 * ms until its window ends}.
 */
export const ADMIT_REQUESTS = `
for i = 1, #KEYS do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= tonumber(ARGV[i + 1]) then
    local left = redis.call('PTTL', KEYS[i])
    if left < 0 then
      redis.call('PEXPIRE', KEYS[i], ARGV[1])
      left = tonumber(ARGV[1])
    end
    return {0, i, left}
  end
end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 or redis.call('PTTL', KEYS[i]) < 0 then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
  end
end
return {1}
`;

/** KEYS: counters. Takes back one admitted request from each (another owner refused it). */
export const RETURN_REQUESTS = `
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 and tonumber(redis.call('GET', KEYS[i])) > 0 then
    redis.call('DECR', KEYS[i])
  end
end
return 1
`;

/**
 * KEYS: counters. ARGV: lease id, live until (ms), then one limit per key. Drops leases past
 * their last possible moment, then holds the lease in every counter when each has room, or in
 * none. A key lives as long as its longest-lived lease. Returns {1} or {0, index of the first
 * full key (1-based), its held lease ids}.
 */
export const RESERVE_LIVES = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[i + 2]) then
    return {0, i, redis.call('ZRANGE', KEYS[i], 0, -1)}
  end
end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1])
  local last = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', KEYS[i], math.max(1000, math.floor(tonumber(last[2]) - now + 60000)))
end
return {1}
`;

/** KEYS: counters. ARGV: lease id. Lets go of the lease in each (another owner refused it). */
export const RELEASE_LIVES = `
for i = 1, #KEYS do
  redis.call('ZREM', KEYS[i], ARGV[1])
end
return 1
`;
