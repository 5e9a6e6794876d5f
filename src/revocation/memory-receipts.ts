import { randomBase32 } from '../lib/ids.js';
import {
  type KillSwitchAnswer,
  RECEIPT_EVENT_LIMIT,
  type ReceiptStart,
  type ReceiptStore,
  type RevocationReceipt,
  type TargetVerification,
  type VerificationEventRef,
  type VerificationMark,
  verificationSummary,
} from './receipt.js';

interface Entry {
  id: string;
  start: ReceiptStart;
  at: number;
  expiresAt: number;
  answer?: KillSwitchAnswer;
  targets: Map<string, TargetVerification>;
  events: VerificationEventRef[];
  omitted: number;
}

/** Receipts in this process (dev mode, the memory lease store). */
export class MemoryReceiptStore implements ReceiptStore {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  #live(workload: string): Entry | undefined {
    const entry = this.#entries.get(workload);
    if (entry !== undefined && entry.expiresAt <= this.#clock()) {
      this.#entries.delete(workload);
      return undefined;
    }
    return entry;
  }

  async begin(start: ReceiptStart, ttlMs: number): Promise<string> {
    for (const [workload, entry] of this.#entries) {
      if (entry.expiresAt <= this.#clock()) this.#entries.delete(workload);
    }
    const id = randomBase32(10);
    this.#entries.set(start.workload, {
      id,
      start: { ...start },
      at: this.#clock(),
      expiresAt: this.#clock() + ttlMs,
      targets: new Map(),
      events: [],
      omitted: 0,
    });
    return id;
  }

  async answered(workload: string, answer: KillSwitchAnswer): Promise<void> {
    const entry = this.#live(workload);
    if (entry !== undefined && entry.id === answer.receipt) entry.answer = answer;
  }

  async mark(mark: VerificationMark): Promise<void> {
    const entry = this.#live(mark.workload);
    if (entry === undefined) return;
    if (mark.revokedAt !== undefined && mark.revokedAt < entry.at) return;
    const row = entry.targets.get(mark.target) ?? {
      target: mark.target,
      provider: mark.provider,
      verified: 0,
      unverified: 0,
      unverifiable: 0,
    };
    row[mark.status] += 1;
    entry.targets.set(mark.target, row);
    if (entry.events.length < RECEIPT_EVENT_LIMIT) {
      entry.events.push({
        ...mark.position,
        lease_id: mark.leaseId,
        target: mark.target,
        status: mark.status,
      });
    } else {
      entry.omitted += 1;
    }
  }

  async get(workload: string): Promise<RevocationReceipt | null> {
    const entry = this.#live(workload);
    if (entry === undefined) return null;
    const { start, answer } = entry;
    return {
      workload,
      at: new Date(entry.at).toISOString(),
      ...(start.by === undefined ? {} : { by: start.by }),
      reason: start.reason,
      blocked: start.blocked,
      ...(answer === undefined ? {} : { counts: { ...answer.counts } }),
      verification: verificationSummary(
        new Map([...entry.targets].map(([target, row]) => [target, { ...row }])),
      ),
      events: {
        ...(answer === undefined ? {} : { workload_revoked: { ...answer.position } }),
        verifications: entry.events.map((ref) => ({ ...ref })),
        verifications_omitted: entry.omitted,
      },
    };
  }
}
