import type { Cluster, Redis } from 'ioredis';
import type { BrokerConfig } from '../config/schema.js';
import type { EventEmitter } from '../events/types.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics.js';
import { readSetSigningKey } from '../ssf/key.js';
import { type SsfPublication, transmitterMetadata } from '../ssf/metadata.js';
import { SsfMetrics } from '../ssf/metrics.js';
import { MemoryDeliveryQueue } from '../ssf/queue.js';
import { RedisDeliveryQueue } from '../ssf/redis-queue.js';
import { SsfTransmitter } from '../ssf/transmitter.js';

export interface SsfWiring {
  readonly transmitter: SsfTransmitter;
  readonly publication: SsfPublication;
}

/**
 * Builds the Shared Signals transmitter from `ssf:` (none without it): the SET key, the
 * delivery queue in the broker's Redis (in memory for a memory store), the metrics. The
 * caller subscribes `transmitter.observe` to the bus and starts it.
 */
export function createSsf(
  config: BrokerConfig,
  parts: {
    brokerUrl: string;
    redis: Redis | Cluster | undefined;
    events: EventEmitter;
    logger: Logger;
    metrics: Metrics;
    fetch?: typeof fetch;
  },
): SsfWiring | undefined {
  const ssf = config.ssf;
  if (ssf === undefined) return undefined;
  const key = readSetSigningKey(ssf.signing_key.private_key, ssf.signing_key.kid);
  const issuer = ssf.issuer ?? parts.brokerUrl;
  const transmitter = new SsfTransmitter({
    config: ssf,
    issuer,
    key,
    queue: parts.redis
      ? new RedisDeliveryQueue(parts.redis, config.redis.key_prefix)
      : new MemoryDeliveryQueue(),
    events: parts.events,
    logger: parts.logger,
    metrics: new SsfMetrics(parts.metrics.registry),
    ...(parts.fetch === undefined ? {} : { fetch: parts.fetch }),
  });
  return {
    transmitter,
    publication: { metadata: transmitterMetadata(issuer, parts.brokerUrl), keys: [key.publicJwk] },
  };
}
