import type { Cluster, Redis } from 'ioredis';
import type { BrokerConfig } from '../config/schema.js';
import type { BrokerEvent, EventEmitter } from '../events/types.js';
import type { LeaseStore } from '../leases/types.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics.js';
import { MemoryReceiptStore } from '../revocation/memory-receipts.js';
import type { ReceiptStore } from '../revocation/receipt.js';
import { receiptRecorder } from '../revocation/recorder.js';
import { RedisReceiptStore } from '../revocation/redis-receipts.js';
import { RevocationVerifier } from '../revocation/verifier.js';

export interface RevocationProof {
  verifier: RevocationVerifier;
  receipts: { store: ReceiptStore; ttlMs: number };
  /** Given to the bus's `subscribe`: writes chain positions into receipts. */
  recorder: (event: BrokerEvent) => void;
}

/**
 * Proof of revocation as the composition root wires it: the verifier the Revoker calls after
 * each revocation, and the receipts (in Redis when the lease store is, kept as long as finished
 * leases) that the kill switch starts and the recorder fills. `revocation` is read at start.
 */
export function revocationProof(
  config: BrokerConfig,
  deps: {
    store: LeaseStore;
    redis: Redis | Cluster | undefined;
    events: EventEmitter;
    metrics: Metrics;
    logger: Logger;
  },
): RevocationProof {
  const store: ReceiptStore = deps.redis
    ? new RedisReceiptStore(deps.redis, config.redis.key_prefix)
    : new MemoryReceiptStore();
  const verifier = new RevocationVerifier({
    config: () => config.revocation,
    store: deps.store,
    events: deps.events,
    metrics: deps.metrics,
    logger: deps.logger,
  });
  return {
    verifier,
    receipts: { store, ttlMs: config.leases.retention },
    recorder: receiptRecorder(store, deps.logger),
  };
}
