import type { Redis } from 'ioredis';
import type { RevocationHandle } from '../../providers/provider.js';
import type { HandleSealer } from '../../src/leases/sealing.js';
import { newLeaseId } from '../../src/lib/ids.js';
import { type LeaseSpec, realisticLease } from './leases.js';

/**
 * The layout bench/README.md proposes, written straight to Redis (not through
 * RedisLeaseStore, which is unchanged) so its memory can be measured before src/ changes:
 * short field names; no `id`, `workload` or `provider` fields (the key and the target say
 * them); the task split into three fields; the policy-set hash cut to 16 hex; task index as
 * a sorted set (listpack on Redis 7.0, where small string sets are hashtables); owners in
 * 1,024 bucket hashes instead of one string key with a TTL per lease.
 */
export async function writeCompactLeases(options: {
  client: Redis;
  prefix: string;
  sealer: HandleSealer;
  count: number;
  lease: (index: number) => LeaseSpec;
  handle: (leaseId: string) => RevocationHandle;
}): Promise<void> {
  const { client, prefix } = options;
  const now = Date.now();
  for (let start = 0; start < options.count; start += 1000) {
    const pipeline = client.pipeline();
    for (let i = start; i < Math.min(options.count, start + 1000); i += 1) {
      const lease = realisticLease(options.lease(i));
      const id = newLeaseId();
      const tag = `${prefix}:{w:${lease.workload}}`;
      const expires = now + lease.ttlMs;
      pipeline.hset(`${tag}:l:${id}`, {
        s: 'active',
        c: now,
        e: expires,
        m: now + lease.maxTtlMs,
        a: 0,
        sub: lease.subject,
        iss: lease.issuer,
        t: lease.target,
        sc: JSON.stringify(lease.scope),
        tk: lease.task.id,
        ti: lease.task.intent,
        ...(lease.task.tool === undefined ? {} : { tt: lease.task.tool }),
        p: lease.policy,
        ph: lease.policyHash.slice(7, 23),
        h: options.sealer.seal(id, options.handle(id)),
      });
      pipeline.zadd(`${tag}:due`, expires, id);
      pipeline.zadd(`${tag}:t:${lease.task.id}`, 0, id);
      pipeline.hset(`${prefix}:owners:${id.slice(4, 6)}`, id, lease.workload);
      pipeline.sadd(`${prefix}:workloads`, lease.workload);
      pipeline.zadd(`${prefix}:due-hint`, 'LT', expires, lease.workload);
    }
    await pipeline.exec();
  }
}
