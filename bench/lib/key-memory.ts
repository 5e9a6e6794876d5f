import type { Redis } from 'ioredis';
import { scanPrefix } from './redis.js';

/** The key kinds of docs/architecture.md ("Leases in Redis"), recognised by their shape. */
const KINDS: readonly [string, RegExp][] = [
  ['lease hash ({tag}:lse_<id>)', /\}:lse_[0-9a-z]+$/],
  ['task index (task:<workload>:<task>)', /\}:task:/],
  ['due zset (per workload)', /\}:due:/],
  ['done zset (per workload)', /\}:done:/],
  ['meta hash (per workload)', /\}:meta:/],
  ['workloads set (global)', /:workloads$/],
  ['due-hint zset (global)', /:due-hint$/],
  ['event stream', /:events$/],
];

export interface KindUsage {
  kind: string;
  keys: number;
  bytes: number;
  /** `OBJECT ENCODING` of each encoding seen, with how many keys had it. */
  encodings: Map<string, number>;
  /** Keys with a TTL: each also costs an entry in the expires dictionary (not in MEMORY USAGE). */
  withTtl: number;
}

export function kindOf(key: string): string {
  for (const [kind, pattern] of KINDS) if (pattern.test(key)) return kind;
  return 'other';
}

/**
 * `MEMORY USAGE … SAMPLES 0` (exact, every element counted) of every key under the prefix,
 * summed by kind. Independent of other clients of a shared server, unlike `used_memory`.
 */
export async function memoryByKind(client: Redis, prefix: string): Promise<KindUsage[]> {
  const kinds = new Map<string, KindUsage>();
  for await (const keys of scanPrefix(client, prefix)) {
    const pipeline = client.pipeline();
    for (const key of keys) {
      pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
      pipeline.call('OBJECT', 'ENCODING', key);
      pipeline.pttl(key);
    }
    const replies = (await pipeline.exec()) ?? [];
    keys.forEach((key, i) => {
      const [usage, encoding, ttl] = [replies[3 * i], replies[3 * i + 1], replies[3 * i + 2]];
      if (!usage || usage[0] || usage[1] === null) return;
      const kind = kindOf(key);
      let entry = kinds.get(kind);
      if (!entry) {
        entry = { kind, keys: 0, bytes: 0, encodings: new Map(), withTtl: 0 };
        kinds.set(kind, entry);
      }
      entry.keys += 1;
      entry.bytes += Number(usage[1]);
      const name = String(encoding?.[1] ?? '?');
      entry.encodings.set(name, (entry.encodings.get(name) ?? 0) + 1);
      if (Number(ttl?.[1] ?? -1) > 0) entry.withTtl += 1;
    });
  }
  return [...kinds.values()].sort((a, b) => b.bytes - a.bytes);
}

/** Field and value sizes of one hash, largest first. */
export async function hashFields(
  client: Redis,
  key: string,
): Promise<{ field: string; bytes: number }[]> {
  const fields = await client.hgetall(key);
  return Object.entries(fields)
    .map(([field, value]) => ({ field, bytes: Buffer.byteLength(value) }))
    .sort((a, b) => b.bytes - a.bytes);
}
