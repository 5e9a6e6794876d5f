import { isApprovalId, newApprovalId } from './keys.js';
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

const LIMIT = 10_000;

/**
 * One process's approvals, with the Redis store's transitions: for `dev`, tests and a
 * single replica with the memory lease store.
 */
export class MemoryApprovalStore implements ApprovalStore {
  readonly #records = new Map<string, Approval>();
  /** `workload\0digest` → id. */
  readonly #pointers = new Map<string, string>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async collectOrOpen(
    request: NewApproval,
    ttlMs: number,
    bounds: { maxPending: number; maxPendingPerWorkload: number },
  ): Promise<Collection> {
    const now = this.#now();
    this.#prune(now);
    const pointer = `${request.workload}\u0000${request.digest}`;
    const current = this.#records.get(this.#pointers.get(pointer) ?? '');
    let expired: Approval | undefined;
    if (current !== undefined) {
      if (effectiveStatus(current, now) === 'expired' && current.status !== 'expired') {
        current.status = 'expired';
        expired = { ...current };
      } else if (current.status === 'approved') {
        current.status = 'used';
        current.usedAt = now;
        this.#pointers.delete(pointer);
        return { outcome: 'used', approval: { ...current } };
      } else if (current.status === 'pending') {
        return { outcome: 'pending', approval: { ...current } };
      } else if (current.status === 'denied' && now < current.expiresAt) {
        return { outcome: 'denied', approval: { ...current } };
      }
    }
    const pending = [...this.#records.values()].filter(
      (a) => effectiveStatus(a, now) === 'pending',
    );
    const mine = pending.filter((a) => a.workload === request.workload).length;
    if (
      pending.length >= bounds.maxPending ||
      mine >= bounds.maxPendingPerWorkload ||
      this.#records.size >= LIMIT
    ) {
      return { outcome: 'full' };
    }
    const approval: Approval = {
      ...request,
      id: newApprovalId(request.workload),
      status: 'pending',
      requestedAt: now,
      expiresAt: now + ttlMs,
    };
    this.#records.set(approval.id, approval);
    this.#pointers.set(pointer, approval.id);
    const created = { ...approval };
    return expired
      ? { outcome: 'created', approval: created, expired }
      : { outcome: 'created', approval: created };
  }

  async decide(
    id: string,
    decision: 'approved' | 'denied',
    by: string,
    reason: string,
    ttlMs: number,
  ): Promise<Decided> {
    const approval = isApprovalId(id) ? this.#records.get(id) : undefined;
    if (approval === undefined) return { outcome: 'missing' };
    const now = this.#now();
    if (approval.status === 'pending' && now >= approval.expiresAt) {
      approval.status = 'expired';
      return { outcome: 'expired', approval: { ...approval } };
    }
    if (approval.status !== 'pending') return { outcome: 'not_pending', approval: { ...approval } };
    Object.assign(approval, {
      status: decision,
      decidedAt: now,
      decidedBy: by,
      reason,
      expiresAt: now + ttlMs,
    });
    return { outcome: 'decided', approval: { ...approval } };
  }

  async get(id: string): Promise<Approval | null> {
    const approval = this.#records.get(id);
    return approval === undefined ? null : { ...approval };
  }

  async list(filter: ApprovalFilter, limit: number): Promise<Approval[]> {
    const now = this.#now();
    this.#prune(now);
    return [...this.#records.values()]
      .reverse()
      .map((a) => ({ ...a, status: effectiveStatus(a, now) }))
      .filter(
        (a) =>
          (filter.workload === undefined || a.workload === filter.workload) &&
          (filter.status === undefined || a.status === filter.status),
      )
      .slice(0, limit);
  }

  #prune(now: number): void {
    for (const [id, approval] of this.#records) {
      if (approval.expiresAt + APPROVAL_RETAIN_MS <= now) this.#records.delete(id);
    }
    for (const [pointer, id] of this.#pointers) {
      if (!this.#records.has(id)) this.#pointers.delete(pointer);
    }
  }
}
