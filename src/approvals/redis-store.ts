import type { Cluster, Redis } from 'ioredis';
import { BrokerError } from '../errors.js';
import { decodeApproval, encodeRequest, pairsToRecord } from './codec.js';
import { ApprovalKeys, isApprovalId, newApprovalId } from './keys.js';
import { COLLECT_OR_OPEN, DECIDE } from './scripts.js';
import {
  APPROVAL_RETAIN_MS,
  type Approval,
  type ApprovalFilter,
  type ApprovalStore,
  type Collection,
  type Decided,
  effectiveStatus,
  type NewApproval,
} from './types.js';

/** The global listing index is trimmed to this many entries (the oldest go first). */
const INDEX_LIMIT = 10_000;
/** A workload's own index is trimmed to this many entries, in the same script that adds one. */
const WORKLOAD_INDEX_LIMIT = 1_000;
/**
 * A listing filtered by status reads at most `limit` records plus this many more: past that
 * it answers with what it found rather than walk the index.
 */
const STATUS_OVERSCAN = 200;

/** Approvals in Redis: shared by every replica, every transition one Lua script. */
export class RedisApprovalStore implements ApprovalStore {
  readonly #redis: Redis | Cluster;
  readonly #keys: ApprovalKeys;

  constructor(redis: Redis | Cluster, keyPrefix: string) {
    this.#redis = redis;
    this.#keys = new ApprovalKeys(keyPrefix);
  }

  async collectOrOpen(
    request: NewApproval,
    ttlMs: number,
    bounds: { maxPending: number; maxPendingPerWorkload: number },
  ): Promise<Collection> {
    return this.#guard(async () => {
      const pointer = this.#keys.digest(request.workload, request.digest);
      for (let attempt = 0; attempt < 5; attempt++) {
        const current = (await this.#redis.get(pointer)) ?? '';
        const id = newApprovalId(request.workload);
        const room = await this.#hasRoom(bounds.maxPending);
        const reply = (await this.#redis.eval(
          COLLECT_OR_OPEN,
          5,
          pointer,
          current === '' ? this.#keys.record(id) : this.#keys.record(current),
          this.#keys.record(id),
          this.#keys.pendingOf(request.workload),
          this.#keys.allOf(request.workload),
          current,
          id,
          encodeRequest(request),
          String(ttlMs),
          String(APPROVAL_RETAIN_MS),
          request.digest,
          room ? '1' : '0',
          String(bounds.maxPendingPerWorkload),
          String(WORKLOAD_INDEX_LIMIT),
        )) as [string, unknown?, unknown?];
        const [outcome, fields, expiredFields] = reply;
        if (outcome === 'retry') continue;
        const expired = Array.isArray(expiredFields)
          ? decodeApproval(pairsToRecord(expiredFields))
          : undefined;
        if (expired) await this.#redis.zrem(this.#keys.pending, expired.id);
        if (outcome === 'full') return { outcome: 'full' };
        const approval = decodeApproval(pairsToRecord(fields));
        if (outcome === 'created') {
          await this.#index(approval);
          return expired ? { outcome, approval, expired } : { outcome, approval };
        }
        if (outcome === 'used' || outcome === 'pending' || outcome === 'denied') {
          return { outcome, approval };
        }
        throw new Error(`unexpected approval transition ${outcome}`);
      }
      throw new BrokerError('store_unavailable', 'the approval kept changing; retry', {
        retryAfter: 1,
      });
    });
  }

  async decide(
    id: string,
    decision: 'approved' | 'denied',
    by: string,
    reason: string,
    ttlMs: number,
  ): Promise<Decided> {
    if (!isApprovalId(id)) return { outcome: 'missing' };
    return this.#guard(async () => {
      const current = await this.get(id);
      if (current === null) return { outcome: 'missing' };
      const reply = (await this.#redis.eval(
        DECIDE,
        4,
        this.#keys.record(id),
        this.#keys.digest(current.workload, current.digest),
        this.#keys.pendingOf(current.workload),
        this.#keys.allOf(current.workload),
        decision,
        by,
        reason,
        String(ttlMs),
        String(APPROVAL_RETAIN_MS),
        String(WORKLOAD_INDEX_LIMIT),
      )) as [string, unknown?];
      const [outcome, fields] = reply;
      if (outcome === 'missing') return { outcome };
      const approval = decodeApproval(pairsToRecord(fields));
      await this.#redis.zrem(this.#keys.pending, id);
      if (outcome === 'decided' || outcome === 'not_pending' || outcome === 'expired') {
        return { outcome, approval };
      }
      throw new Error(`unexpected approval transition ${outcome}`);
    });
  }

  async get(id: string): Promise<Approval | null> {
    if (!isApprovalId(id)) return null;
    return this.#guard(async () => {
      const fields = await this.#redis.hgetall(this.#keys.record(id));
      return fields.id === undefined ? null : decodeApproval(fields);
    });
  }

  /**
   * Newest first. A workload's listing reads its own index only; an operator's listing of
   * pending approvals reads the pending index; any listing by status reads at most `limit`
   * records plus `STATUS_OVERSCAN`, one Redis read each, whatever else is stored.
   */
  async list(filter: ApprovalFilter, limit: number): Promise<Approval[]> {
    return this.#guard(async () => {
      const now = Date.now();
      const index =
        filter.workload !== undefined
          ? this.#keys.allOf(filter.workload)
          : filter.status === 'pending'
            ? this.#keys.pending
            : this.#keys.all;
      await this.#redis.zremrangebyscore(index, '-inf', now);
      const reads = filter.status === undefined ? limit : limit + STATUS_OVERSCAN;
      const out: Approval[] = [];
      // The first batch is what a full answer needs; later ones (filtered listings) are larger.
      let batch = limit;
      for (let start = 0; out.length < limit && start < reads; start += batch) {
        if (start > 0) batch = Math.max(limit, 50);
        const end = Math.min(start + batch, reads) - 1;
        const ids = await this.#redis.zrevrange(index, start, end);
        if (ids.length === 0) break;
        // One key per record: records live on their workloads' slots, so no multi-key read.
        const records = await Promise.all(ids.map((id) => this.get(id)));
        for (const approval of records) {
          if (approval === null) continue;
          const status = effectiveStatus(approval, now);
          if (filter.workload !== undefined && approval.workload !== filter.workload) continue;
          if (filter.status !== undefined && status !== filter.status) continue;
          out.push({ ...approval, status });
          if (out.length >= limit) break;
        }
      }
      return out;
    });
  }

  async #hasRoom(maxPending: number): Promise<boolean> {
    await this.#redis.zremrangebyscore(this.#keys.pending, '-inf', Date.now());
    return (await this.#redis.zcard(this.#keys.pending)) < maxPending;
  }

  async #index(approval: Approval): Promise<void> {
    await this.#redis.zadd(this.#keys.pending, approval.expiresAt, approval.id);
    await this.#redis.zadd(this.#keys.all, approval.expiresAt + APPROVAL_RETAIN_MS, approval.id);
    await this.#redis.zremrangebyrank(this.#keys.all, 0, -INDEX_LIMIT - 1);
  }

  async #guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      if (cause instanceof BrokerError) throw cause;
      // Fail closed: without the store no approval can be checked, so nothing is granted.
      throw new BrokerError('store_unavailable', 'approvals cannot be read', {
        retryAfter: 2,
        cause,
      });
    }
  }
}
