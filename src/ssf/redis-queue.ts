import type { Cluster, Redis } from 'ioredis';
import {
  type ClaimedSet,
  type DeliveryQueue,
  decodeSet,
  encodeSet,
  type PendingSet,
} from './queue.js';

// KEYS: due zset (score: when the SET is next due, or its claim's end), age zset (score:
// when it was queued), sets hash (id → the SET). One hash tag: a Cluster keeps them on one
// slot, so every script is one atomic step.
const ENQUEUE = `
local max = tonumber(ARGV[1])
for i = 2, #ARGV, 3 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 2])
  redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
  redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i])
end
local dropped = {}
local over = redis.call('ZCARD', KEYS[2]) - max
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #oldest, 2 do
    local id = oldest[i]
    local set = redis.call('HGET', KEYS[3], id)
    if set then table.insert(dropped, set) end
    redis.call('HDEL', KEYS[3], id)
    redis.call('ZREM', KEYS[1], id)
  end
end
return dropped
`;

const CLAIM = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local set = redis.call('HGET', KEYS[3], id)
  if set then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    table.insert(out, id)
    table.insert(out, set)
  else
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
  end
end
return out
`;

// The claim's end is its fence: a replica whose claim ran out and was taken over finds
// another score and changes nothing.
const FINISH = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
`;

const RETRY = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
return 1
`;

/** The SET queue in the broker's Redis: every replica delivers from it, none twice at once. */
export class RedisDeliveryQueue implements DeliveryQueue {
  readonly #keys: [string, string, string];

  constructor(
    private readonly redis: Redis | Cluster,
    prefix: string,
  ) {
    this.#keys = [`${prefix}:{ssf}:due`, `${prefix}:{ssf}:age`, `${prefix}:{ssf}:sets`];
  }

  async enqueue(sets: readonly PendingSet[], maxQueue: number): Promise<PendingSet[]> {
    if (sets.length === 0) return [];
    const args = sets.flatMap((s) => [s.id, String(s.queuedAt), encodeSet(s)]);
    const dropped = (await this.redis.eval(
      ENQUEUE,
      3,
      ...this.#keys,
      String(maxQueue),
      ...args,
    )) as string[];
    return dropped.flatMap((text) => decodeSet(text) ?? []);
  }

  async claim(now: number, until: number, limit: number): Promise<ClaimedSet[]> {
    const reply = (await this.redis.eval(
      CLAIM,
      3,
      ...this.#keys,
      String(now),
      String(until),
      String(limit),
    )) as string[];
    const claimed: ClaimedSet[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const id = reply[i] as string;
      const set = decodeSet(reply[i + 1] as string);
      if (set !== undefined && set.id === id) claimed.push({ set, until });
      // One that cannot be read would come back at every claim's end: it goes now.
      else await this.redis.eval(FINISH, 3, ...this.#keys, id, String(until));
    }
    return claimed;
  }

  async finish(claimed: ClaimedSet): Promise<boolean> {
    const done = await this.redis.eval(
      FINISH,
      3,
      ...this.#keys,
      claimed.set.id,
      String(claimed.until),
    );
    return done === 1;
  }

  async retry(claimed: ClaimedSet, dueAt: number): Promise<boolean> {
    const next: PendingSet = { ...claimed.set, attempts: claimed.set.attempts + 1 };
    const done = await this.redis.eval(
      RETRY,
      3,
      ...this.#keys,
      claimed.set.id,
      String(claimed.until),
      String(dueAt),
      encodeSet(next),
    );
    return done === 1;
  }

  async release(claimed: ClaimedSet, dueAt: number): Promise<boolean> {
    const done = await this.redis.eval(
      RETRY,
      3,
      ...this.#keys,
      claimed.set.id,
      String(claimed.until),
      String(dueAt),
      encodeSet(claimed.set),
    );
    return done === 1;
  }

  async depth(): Promise<number> {
    return this.redis.zcard(this.#keys[1]);
  }
}
