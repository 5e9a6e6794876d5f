/**
 * Lua scripts for the approval transitions. An approval's record and its request digest's
 * pointer carry the workload's hash tag, so each script runs on one Redis Cluster slot.
 * Time comes from Redis `TIME`, so replicas with skewed clocks agree on expiry.
 *
 * Record hash fields: `id`, `st` status, `d` digest, `r` requested at, `e` expires at,
 * `da`/`db`/`rs` decided at/by/reason, `ua` used at, `b` the request (JSON, never read here).
 */

const PRELUDE = `
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function num(x) return string.format('%.0f', x) end
`;

/**
 * Adds (or moves) an approval in its workload's index, scored by when the record goes, and
 * keeps the index bounded: entries past their record's life go, then the oldest beyond the
 * bound. The index lives as long as its longest-lived entry.
 */
const INDEX_OF = `
local function index_of(key, id, gone, bound)
  redis.call('ZADD', key, num(gone), id)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', num(NOW))
  redis.call('ZREMRANGEBYRANK', key, 0, -bound - 1)
  local left = redis.call('PTTL', key)
  if left < 0 or left < gone - NOW then redis.call('PEXPIRE', key, gone - NOW) end
end
`;

/**
 * KEYS: digest pointer, the record it pointed to when read (or any key of the slot), the new
 * record, the workload's pending set, the workload's index. ARGV: the id read ('' for none),
 * new id, request JSON, ttl, retain, digest, room ('1' when the global bound allows another
 * pending approval), the workload's bound, the workload index's bound.
 *
 * An approved record is consumed here and its pointer dropped, so one approval yields one
 * credential however many replicas collect at once.
 */
export const COLLECT_OR_OPEN = `${PRELUDE}${INDEX_OF}
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return {'retry'} end
local expired = false
if current ~= '' then
  local f = redis.call('HMGET', KEYS[2], 'st', 'e')
  if f[1] then
    local st, e = f[1], tonumber(f[2])
    if (st == 'pending' or st == 'approved') and NOW >= e then
      redis.call('HSET', KEYS[2], 'st', 'expired')
      expired = redis.call('HGETALL', KEYS[2])
    elseif st == 'approved' then
      redis.call('HSET', KEYS[2], 'st', 'used', 'ua', num(NOW))
      redis.call('DEL', KEYS[1])
      return {'used', redis.call('HGETALL', KEYS[2])}
    elseif st == 'pending' then
      return {'pending', redis.call('HGETALL', KEYS[2])}
    elseif st == 'denied' and NOW < e then
      return {'denied', redis.call('HGETALL', KEYS[2])}
    end
  end
end
if ARGV[7] ~= '1' then return {'full', false, expired} end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', NOW)
if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[8]) then return {'full', false, expired} end
local ttl = tonumber(ARGV[4])
local keep = ttl + tonumber(ARGV[5])
redis.call('HSET', KEYS[3], 'id', ARGV[2], 'st', 'pending', 'd', ARGV[6], 'r', num(NOW),
  'e', num(NOW + ttl), 'b', ARGV[3])
redis.call('PEXPIRE', KEYS[3], keep)
redis.call('SET', KEYS[1], ARGV[2], 'PX', keep)
redis.call('ZADD', KEYS[4], num(NOW + ttl), ARGV[2])
redis.call('PEXPIRE', KEYS[4], ttl)
index_of(KEYS[5], ARGV[2], NOW + keep, tonumber(ARGV[9]))
return {'created', redis.call('HGETALL', KEYS[3]), expired}
`;

/**
 * KEYS: record, its digest pointer, the workload's pending set, the workload's index.
 * ARGV: 'approved' | 'denied', by, reason, ttl, retain, the workload index's bound.
 * Only a pending, unexpired approval is decided; the decision opens a new window of `ttl`
 * (to collect an approval, or during which a denied request stays refused).
 */
export const DECIDE = `${PRELUDE}${INDEX_OF}
local f = redis.call('HMGET', KEYS[1], 'st', 'e', 'id')
if not f[1] then return {'missing'} end
if f[1] == 'pending' and NOW >= tonumber(f[2]) then
  redis.call('HSET', KEYS[1], 'st', 'expired')
  return {'expired', redis.call('HGETALL', KEYS[1])}
end
if f[1] ~= 'pending' then return {'not_pending', redis.call('HGETALL', KEYS[1])} end
redis.call('ZREM', KEYS[3], f[3])
local ttl = tonumber(ARGV[4])
local keep = ttl + tonumber(ARGV[5])
redis.call('HSET', KEYS[1], 'st', ARGV[1], 'da', num(NOW), 'db', ARGV[2], 'rs', ARGV[3],
  'e', num(NOW + ttl))
redis.call('PEXPIRE', KEYS[1], keep)
if redis.call('GET', KEYS[2]) == f[3] then redis.call('PEXPIRE', KEYS[2], keep) end
index_of(KEYS[4], f[3], NOW + keep, tonumber(ARGV[6]))
return {'decided', redis.call('HGETALL', KEYS[1])}
`;
