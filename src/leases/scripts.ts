import { LEASE_FIELDS } from './codec.js';

/**
 * Lua scripts for every lease transition. All keys a script touches share the workload's
 * hash tag, so each runs atomically on one Redis Cluster slot (the `_HINTED` variants, used
 * on one node only, also name the global hint keys). Time comes from Redis `TIME`
 * so replicas with skewed clocks agree on expiry.
 *
 * Lease hash fields: see `codec.ts`. The `due` sorted set holds every unfinished lease,
 * scored by when the reaper must next look at it (pending timeout, expiry, claim timeout,
 * retry backoff).
 */

const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function num(x) return string.format('%.0f', x) end
local NOW = now_ms()
-- Claim a lease for revocation: exclusive until claim_until (visibility timeout).
-- The first reason recorded wins, so an expiry stays an expiry.
local function claim(key, due, id, token, timeout, reason)
  local until_ms = NOW + timeout
  redis.call('HSET', key, 'st', 'revoking', 'ct', token, 'cu', num(until_ms))
  redis.call('HSETNX', key, 'rr', reason)
  redis.call('ZADD', due, num(until_ms), id)
  redis.call('PERSIST', key)
  return until_ms
end
`;

/**
 * The lease's creation. `hinted` (a store on one node, standalone or Sentinel) also writes the
 * reaper's hints in the same script: the workload into the workloads set and its due time into
 * the hint index, atomically with the lease, so no crash can leave the lease without them. On
 * Redis Cluster those keys live on other slots, and the store writes them itself, before and
 * after the script.
 */
const createScript = (hinted: boolean) => `${PRELUDE}
${hinted ? 'local W = ARGV[6]' : ''}
if redis.call('HGET', KEYS[3], 'blocked') then return {'blocked'} end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return {'cap'} end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
redis.call('HSET', KEYS[1], 'st', 'pending', 'c', num(NOW),
  'e', num(NOW + tonumber(ARGV[2])), 'm', num(NOW + tonumber(ARGV[3])),
  'n', '0', unpack(ARGV, ${hinted ? 7 : 6}))
local due = NOW + tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], num(due), ARGV[1])
-- A sorted set, not a set: small ones stay listpack-encoded on Redis 7.0 (sets do not).
redis.call('ZADD', KEYS[4], 0, ARGV[1])
${hinted ? "redis.call('SADD', KEYS[5], W)\nredis.call('ZADD', KEYS[6], 'LT', num(due), W)" : ''}
return {'ok', num(due), redis.call('HGETALL', KEYS[1])}
`;

/** KEYS: lease, due, meta, task. ARGV: id, ttl, maxTtl, pendingTimeout, maxLive, field pairs… */
export const CREATE = createScript(false);

/**
 * KEYS: lease, due, meta, task, workloads, hint. ARGV: id, ttl, maxTtl, pendingTimeout,
 * maxLive, workload, field pairs…
 */
export const CREATE_HINTED = createScript(true);

/**
 * The lease's activation. `hinted` (one node) also lowers the workload's hint to the lease's
 * new due time in the same script; on Cluster the store does it after the script.
 */
const activateScript = (hinted: boolean) => `${PRELUDE}
local function out(r)
  ${hinted ? "redis.call('ZADD', KEYS[4], 'LT', r[2], ARGV[5])" : ''}
  return r
end
-- The caller names the lease's workload: a lease of another one (or none) is missing, so
-- this workload's due set and epoch never govern someone else's lease.
if redis.call('HGET', KEYS[1], 'w') ~= ARGV[5] then return {'missing'} end
local f = redis.call('HMGET', KEYS[1], 'st', 'c', 'e', 'pr', 'rr')
redis.call('HSET', KEYS[1], 'h', ARGV[2])
local reason = nil
if f[1] == 'pending' then
  reason = f[4] or nil
  local rb = redis.call('HGET', KEYS[3], 'revoked_before')
  if not reason and rb and tonumber(f[2]) <= tonumber(rb) then reason = 'workload_revoked' end
  if not reason and NOW >= tonumber(f[3]) then reason = 'expired' end
  if not reason then
    redis.call('HSET', KEYS[1], 'st', 'active')
    redis.call('ZADD', KEYS[2], f[3], ARGV[1])
    return out({'active', f[3], redis.call('HGETALL', KEYS[1])})
  end
elseif f[1] == 'active' then
  return out({'active', f[3], redis.call('HGETALL', KEYS[1])})
else
  -- Revoked or claimed while minting (a crashed-mint sweep, an operator): this credential
  -- was minted after that, so it must be revoked as well.
  reason = f[5] or 'activation_failed'
end
local due = claim(KEYS[1], KEYS[2], ARGV[1], ARGV[3], tonumber(ARGV[4]), reason)
return out({'revoke', num(due), redis.call('HGETALL', KEYS[1])})
`;

/** KEYS: lease, due, meta. ARGV: id, sealedHandle, claimToken, claimTimeout, workload. */
export const ACTIVATE = activateScript(false);

/** KEYS: lease, due, meta, hint. ARGV: as `ACTIVATE`. */
export const ACTIVATE_HINTED = activateScript(true);

/**
 * KEYS: due, done, lease1..leaseN. ARGV: reason, claimTimeout, onlyFailed ('1' = retry of
 * revoke_failed leases only), in-place targets (newline-separated), retention, task key
 * prefix, then id1, token1, id2, token2…
 * Returns per lease {status, fields}.
 */
export const REQUEST_REVOKE = `${PRELUDE}
local out = {}
local reason = ARGV[1]
local timeout = tonumber(ARGV[2])
local only_failed = ARGV[3] == '1'
-- Targets whose credential is the lease state itself (broker-signed JWTs: introspection
-- reads the lease): they are revoked here, in one step, with no provider call.
local in_place = {}
for t in string.gmatch(ARGV[4], '[^\\n]+') do in_place[t] = true end
local retention = ARGV[5]
local task_prefix = ARGV[6]
for i = 3, #KEYS do
  local key = KEYS[i]
  local id = ARGV[7 + (i - 3) * 2]
  local token = ARGV[8 + (i - 3) * 2]
  if redis.call('EXISTS', key) == 0 then
    out[#out + 1] = {'not_found'}
  else
    local f = redis.call('HMGET', key, 'st', 'cu', 'h', 't', 'tk', 'rr')
    local state = f[1]
    local status
    if state == 'revoked' or state == 'expired' then
      status = 'done'
    elseif only_failed and state ~= 'revoke_failed' then
      status = 'not_retryable'
    elseif state == 'pending' and not f[3] then
      -- A kill switch relies on its epoch for mints in flight (activation and the reaper
      -- both check it), so only other revocations are recorded on the lease.
      if reason ~= 'workload_revoked' then redis.call('HSETNX', key, 'pr', reason) end
      status = 'deferred'
    elseif state == 'revoking' and f[2] and tonumber(f[2]) > NOW then
      status = 'in_progress'
    elseif in_place[f[4]] then
      local final = 'revoked'
      if (f[6] or reason) == 'expired' then final = 'expired' end
      redis.call('HSET', key, 'st', final, 'r', num(NOW))
      redis.call('HSETNX', key, 'rr', reason)
      redis.call('HDEL', key, 'ct', 'cu', 'h', 'pr')
      redis.call('ZREM', KEYS[1], id)
      -- The task index shares this workload's hash tag (same slot as every declared key).
      redis.call('ZREM', task_prefix .. cjson.decode(f[5]).id, id)
      redis.call('ZADD', KEYS[2], num(NOW), id)
      redis.call('PEXPIRE', KEYS[2], retention)
      redis.call('PEXPIRE', key, retention)
      status = 'revoked'
    else
      claim(key, KEYS[1], id, token, timeout, reason)
      status = 'claimed'
    end
    out[#out + 1] = {status, redis.call('HMGET', key, ${LEASE_FIELDS.map((f) => `'${f}'`).join(', ')})}
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
out[#out + 1] = {'next', first[2] or ''}
return out
`;

/**
 * Records the providers' answers for many claims of one workload in one call.
 * KEYS: due, done, then lease1, task1, lease2, task2…
 * ARGV: maxAttempts, failedRetry, retention, then id, token, ok ('1'/'0'), error, retryIn per claim.
 * Returns per claim {transition, due, state, attempts, revoked_at, revoke_reason}; a claim
 * whose token no longer matches (it timed out and was taken again) changes nothing: 'none'.
 */
export const FINISH = `${PRELUDE}
local max = tonumber(ARGV[1])
local failed_retry = tonumber(ARGV[2])
local retention = ARGV[3]
local out = {}
local pruned = false
for i = 0, (#KEYS - 2) / 2 - 1 do
  local key = KEYS[3 + i * 2]
  local task = KEYS[4 + i * 2]
  local a = 4 + i * 5
  local id, token, ok, err, retry_in = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local transition, due = 'none', ''
  if redis.call('EXISTS', key) == 1 and redis.call('HGET', key, 'ct') == token then
    if ok == '1' then
      transition = 'revoked'
      if redis.call('HGET', key, 'rr') == 'expired' then transition = 'expired' end
      redis.call('HSET', key, 'st', transition, 'r', num(NOW))
      redis.call('HDEL', key, 'ct', 'cu', 'h', 'pr')
      redis.call('ZREM', KEYS[1], id)
      redis.call('ZREM', task, id)
      redis.call('ZADD', KEYS[2], num(NOW), id)
      redis.call('PEXPIRE', key, retention)
      pruned = true
    else
      local attempts = redis.call('HINCRBY', key, 'n', 1)
      redis.call('HSET', key, 'le', err)
      redis.call('HDEL', key, 'ct', 'cu')
      local at
      transition = 'retry'
      if attempts >= max then
        if attempts == max then transition = 'revoke_failed' end
        redis.call('HSET', key, 'st', 'revoke_failed')
        at = NOW + failed_retry
      else
        redis.call('HSET', key, 'st', 'revoking')
        at = NOW + tonumber(retry_in)
      end
      redis.call('ZADD', KEYS[1], num(at), id)
      due = num(at)
    end
  end
  local f = redis.call('HMGET', key, 'st', 'n', 'r', 'rr', 'le')
  out[#out + 1] = {transition, due, f[1] or '', f[2] or '0', f[3] or '', f[4] or '', f[5] or ''}
end
if pruned then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', num(NOW - tonumber(retention)))
  -- Every entry is at most this old once the newest one is, so the whole index expires
  -- with it when no later finish comes along to prune it.
  redis.call('PEXPIRE', KEYS[2], retention)
end
return out
`;

/** KEYS: lease, due. ARGV: id, expiresAt, sealedHandle ('' = keep). */
export const EXTEND = `${PRELUDE}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local f = redis.call('HMGET', KEYS[1], 'st', 'm', 'e')
if f[1] ~= 'active' or NOW >= tonumber(f[3]) then return {'not_active'} end
local expires = math.min(tonumber(ARGV[2]), tonumber(f[2]))
redis.call('HSET', KEYS[1], 'e', num(expires))
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'h', ARGV[3]) end
redis.call('ZADD', KEYS[2], num(expires), ARGV[1])
return {'ok', redis.call('HGETALL', KEYS[1])}
`;

/** KEYS: due. ARGV: limit. Ids whose due time has come. */
export const DUE_IDS = `${PRELUDE}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', num(NOW), 'LIMIT', 0, tonumber(ARGV[1]))
`;

/**
 * KEYS: due, meta, lease1..leaseN. ARGV: claimTimeout, id1, token1, … Claims the due ones;
 * returns {first due score, {{id, HGETALL}…}}.
 * A lease created before the workload's kill-switch epoch is claimed as `workload_revoked`
 * even when its expiry is far: the kill switch finishes even if its caller died midway.
 */
export const CLAIM_DUE = `${PRELUDE}
local out = {}
local timeout = tonumber(ARGV[1])
local epoch = tonumber(redis.call('HGET', KEYS[2], 'revoked_before') or '-1')
for i = 3, #KEYS do
  local key = KEYS[i]
  local id = ARGV[2 + (i - 3) * 2]
  local token = ARGV[3 + (i - 3) * 2]
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score and tonumber(score) <= NOW then
    if redis.call('EXISTS', key) == 0 then
      redis.call('ZREM', KEYS[1], id)
    else
      local f = redis.call('HMGET', key, 'st', 'e', 'pr', 'rr', 'c')
      local state = f[1]
      local killed = tonumber(f[5]) <= epoch
      local reason = nil
      if state == 'pending' then
        reason = f[3] or (killed and 'workload_revoked') or 'pending_timeout'
      elseif state == 'active' then
        if NOW >= tonumber(f[2]) then reason = 'expired'
        elseif killed then reason = 'workload_revoked'
        else redis.call('ZADD', KEYS[1], f[2], id) end
      elseif state == 'revoking' or state == 'revoke_failed' then
        reason = f[4] or 'activation_failed'
      else
        redis.call('ZREM', KEYS[1], id)
      end
      if reason then
        claim(key, KEYS[1], id, token, timeout, reason)
        out[#out + 1] = {id, redis.call('HGETALL', key)}
      end
    end
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {first[2] or '', out}
`;

/**
 * KEYS: meta, due. ARGV: block ('1'/'0'), reason. Sets the kill-switch epoch and makes every
 * live lease due now, so the reaper finishes the job if the caller dies before claiming.
 */
export const REVOKE_WORKLOAD = `${PRELUDE}
redis.call('HSET', KEYS[1], 'revoked_before', num(NOW))
if ARGV[1] == '1' then redis.call('HSET', KEYS[1], 'blocked', ARGV[2]) end
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
for i = 1, #ids, 500 do
  local args = {}
  for j = i, math.min(i + 499, #ids) do
    args[#args + 1] = num(NOW)
    args[#args + 1] = ids[j]
  end
  redis.call('ZADD', KEYS[2], 'LT', unpack(args))
end
return {num(NOW), ids}
`;

/** KEYS: hint. ARGV: limit. Workloads with leases due now. */
export const HINT_DUE = `${PRELUDE}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', num(NOW), 'LIMIT', 0, tonumber(ARGV[1]))
`;

/** KEYS: hint. ARGV: workload. Removes a workload from the hint if it is due now. */
export const HINT_TAKE = `${PRELUDE}
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) <= NOW then redis.call('ZREM', KEYS[1], ARGV[1]) return 1 end
return 0
`;

export const TIME = `${PRELUDE}
return num(NOW)
`;

/**
 * KEYS: one workload's due or done set. ARGV: the workload's lease key prefix
 * (`<prefix>:{<tag>}:`), offset, limit. Reads the target, provider and state of at most
 * `limit` of its leases from `offset` on and tallies them here, so a census costs the client
 * one reply per slice, not one per lease. The lease keys share the set's hash tag. Returns
 * {ids seen (limit + 1 when there are more), target, provider, state, count, …}.
 */
export const CENSUS = `
local offset, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGE', KEYS[1], offset, offset + limit)
local rows, order = {}, {}
for i = 1, math.min(#ids, limit) do
  local f = redis.call('HMGET', ARGV[1] .. ids[i], 't', 'p', 'st')
  if f[1] and f[2] and f[3] then
    local key = f[1] .. '\\n' .. f[2] .. '\\n' .. f[3]
    if rows[key] then
      rows[key][4] = rows[key][4] + 1
    else
      rows[key] = {f[1], f[2], f[3], 1}
      order[#order + 1] = key
    end
  end
end
local out = {#ids}
for _, key in ipairs(order) do
  for _, value in ipairs(rows[key]) do out[#out + 1] = value end
end
return out
`;
