import { GetRolePolicyCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { type ProviderCoordination, ProviderError } from '../provider.js';
import type { AwsTargetConfig } from './config.js';
import {
  bucketEnd,
  cloneEntries,
  type DenyEntries,
  emptyEntries,
  fitDenyPolicy,
  parseDenyPolicy,
  pruneEntries,
  restoreEntries,
} from './lib/deny-policy.js';
import { toProviderError } from './lib/errors.js';
import type { AwsTarget } from './lib/target.js';

/** One early revocation waiting for the next write of the Deny policy. */
export type DenyRequest =
  | {
      kind: 'lease';
      leaseId: string;
      /** Unknown after a crash before the session was seen: any role id then matches. */
      roleId?: string;
      workload?: string;
      issuedBefore?: number;
      expiresAt: number;
    }
  | { kind: 'workload'; workload: string; cutoff: number };

interface Waiting {
  request: DenyRequest;
  resolve(): void;
  reject(err: unknown): void;
}

const LOCK_TTL_MS = 60_000;

/**
 * How long the Deny policy lock is held at most: long enough for the whole read-modify-write
 * at the target's slowest (two IAM calls, each up to two attempts of a connection and a request
 * timeout), so a holder never writes after its lock has passed to another replica. IAM has no
 * conditional write: the lock outliving the work is what keeps two writers apart.
 */
export function denyLockTtlMs(timeoutMs: number): number {
  return Math.max(LOCK_TTL_MS, 10 * timeoutMs);
}

/**
 * Per-lease entries never take the last quarter of the policy (at most 1,024 characters,
 * some five workload entries): a kill switch still lands when single revocations filled
 * the rest.
 */
function leaseRoom(config: Pick<AwsTargetConfig, 'revocation_policy_max_chars'>): number {
  const max = config.revocation_policy_max_chars;
  return max - Math.min(1_024, Math.floor(max / 4));
}

/** A session's user id as long as any the broker writes (`AROA…` role id, `lse_…` lease id). */
const PROBE_USER_ID = `AROA${'X'.repeat(17)}:lse_${'x'.repeat(28)}`;

/**
 * Why the Deny policy has no room for one more per-lease entry, or undefined when it has.
 * Read from the policy itself, so every replica's readiness says it, not only the one that
 * was refused.
 */
export function denyPolicyFullness(
  config: AwsTargetConfig,
  text: string,
  now: number,
): string | undefined {
  let entries: DenyEntries;
  try {
    entries = parseDenyPolicy(text);
  } catch {
    return `aws target "${config.name}": the role policy ${config.revocation_policy_name} is not JSON`;
  }
  pruneEntries(entries, now, config.max_session_duration * 1000);
  const live = entries.leases.size;
  entries.leases.set(PROBE_USER_ID, bucketEnd(now + config.max_session_duration * 1000));
  if (fitDenyPolicy(entries, leaseRoom(config)) !== null) return undefined;
  return fullMessage(config, live, entries.workloads.size);
}

function fullMessage(config: AwsTargetConfig, leases: number, workloads: number): string {
  return `aws target "${config.name}": the Deny policy ${config.revocation_policy_name} is full (${leases} live lease entries, ${workloads} workload entries, limit ${config.revocation_policy_max_chars} characters); no live entry is dropped. Revoke the workload (kill switch: one entry for all its sessions) or wait for entries to expire`;
}

/**
 * Every early revocation of a target goes through one writer: requests that arrive while a
 * write is under way wait and share the next one, so a thousand concurrent revocations cost a
 * handful of IAM writes. Each write is a read-modify-write of the Deny policy under a lock on
 * the broker's store, stamped with the lock's fencing token.
 */
export class DenyPolicyWriter {
  readonly #target: AwsTarget;
  readonly #coordination: ProviderCoordination | undefined;
  #queue: Waiting[] = [];
  #draining = false;
  /** IAM writes made (for the benchmark's figures). */
  writes = 0;

  constructor(target: AwsTarget, coordination: ProviderCoordination | undefined) {
    this.#target = target;
    this.#coordination = coordination;
  }

  deny(request: DenyRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      if (!this.#draining) void this.#drain();
    });
  }

  /**
   * Runs until the queue is empty. The flag is cleared in the same turn as the last check of
   * the queue, so a request queued by a waiter woken here always starts a new drain.
   */
  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        try {
          const refused = await this.#write(batch.map((waiting) => waiting.request));
          for (const waiting of batch) {
            const err = refused.get(waiting.request);
            if (err === undefined) waiting.resolve();
            else waiting.reject(err);
          }
        } catch (err) {
          for (const waiting of batch) waiting.reject(err);
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Writes what fits; answers the requests refused because the policy is full. */
  async #write(requests: readonly DenyRequest[]): Promise<Map<DenyRequest, ProviderError>> {
    const { config } = this.#target;
    if (this.#coordination === undefined) {
      throw new ProviderError(
        'provider_misconfigured',
        `aws target "${config.name}": no lock service to guard the Deny policy`,
        false,
      );
    }
    const refused = new Map<DenyRequest, ProviderError>();
    await this.#coordination
      .withLock(
        `aws-deny:${config.role_arn}:${config.revocation_policy_name}`,
        { ttlMs: denyLockTtlMs(config.timeout_ms), waitMs: config.timeout_ms * 3 },
        async (lock) => {
          const current = await this.#read();
          // A later fence in the policy means a later holder wrote it, unless the lock is
          // still ours: then the counter itself was lost (a new store) and the policy's goes on.
          if (current.fence > lock.fence && !(await lock.stillHeld())) {
            throw new ProviderError(
              'provider_unavailable',
              `aws target "${config.name}": a later lock holder wrote the Deny policy; retrying`,
              true,
            );
          }
          const now = Date.now();
          const skewMs = config.clock_skew_seconds * 1000;
          pruneEntries(current, now, config.max_session_duration * 1000);
          current.fence = Math.max(lock.fence, current.fence + 1);
          let text: string | null = null;
          let changed = false;
          // Kill-switch entries first: one of them stands for every session of a workload.
          const ordered = [...requests].sort(
            (a, b) => Number(b.kind === 'workload') - Number(a.kind === 'workload'),
          );
          for (const request of ordered) {
            const before = cloneEntries(current);
            if (!apply(current, request, now, skewMs)) continue;
            const limit =
              request.kind === 'workload' ? config.revocation_policy_max_chars : leaseRoom(config);
            const fitted = fitDenyPolicy(current, limit);
            if (fitted === null) {
              // Never drop a live entry to make room: this request waits for a retry instead.
              restoreEntries(current, before);
              refused.set(request, this.#full(current));
              continue;
            }
            text = fitted;
            changed = true;
          }
          if (!changed || text === null) return;
          if (!(await lock.stillHeld())) {
            throw new ProviderError(
              'provider_unavailable',
              `aws target "${config.name}": lost the Deny policy lock before writing; retrying`,
              true,
            );
          }
          try {
            await this.#target.clients.iam.send(
              new PutRolePolicyCommand({
                RoleName: this.#target.roleName,
                PolicyName: config.revocation_policy_name,
                PolicyDocument: text,
              }),
            );
          } catch (err) {
            throw toProviderError(config.name, 'PutRolePolicy', err);
          }
          this.writes++;
        },
      )
      .catch((err: unknown) => {
        if (err instanceof ProviderError) throw err;
        throw new ProviderError(
          'provider_unavailable',
          `aws target "${config.name}": ${err instanceof Error ? err.message : 'lock failed'}`,
          true,
        );
      });
    return refused;
  }

  #full(entries: DenyEntries): ProviderError {
    const { config } = this.#target;
    return new ProviderError(
      'provider_rejected',
      fullMessage(config, entries.leases.size, entries.workloads.size),
      true,
    );
  }

  async #read(): Promise<DenyEntries> {
    const { config } = this.#target;
    let text: string;
    try {
      const answer = await this.#target.clients.iam.send(
        new GetRolePolicyCommand({
          RoleName: this.#target.roleName,
          PolicyName: config.revocation_policy_name,
        }),
      );
      // IAM answers the document URL-encoded (RFC 3986).
      text = decodeURIComponent(answer.PolicyDocument ?? '');
    } catch (err) {
      if (
        (err as { name?: string }).name === 'NoSuchEntityException' &&
        /role policy/i.test(String((err as Error).message))
      ) {
        return emptyEntries();
      }
      throw toProviderError(config.name, 'GetRolePolicy', err);
    }
    try {
      return parseDenyPolicy(text);
    } catch {
      throw new ProviderError(
        'provider_misconfigured',
        `aws target "${config.name}": the role policy ${config.revocation_policy_name} is not JSON; it belongs to the broker and must not be edited by hand`,
        false,
      );
    }
  }
}

/** Adds what one request needs to the entries; false when it is already covered. */
function apply(entries: DenyEntries, request: DenyRequest, now: number, skewMs: number): boolean {
  if (request.kind === 'workload') {
    if ((entries.workloads.get(request.workload) ?? 0) >= request.cutoff) return false;
    entries.workloads.set(request.workload, request.cutoff);
    return true;
  }
  // After its expiry the session policy denies everything: nothing left to add.
  if (request.expiresAt <= now) return false;
  if (request.workload !== undefined && request.issuedBefore !== undefined) {
    const cutoff = entries.workloads.get(request.workload);
    // The kill switch's entry already covers sessions issued before its cutoff.
    if (cutoff !== undefined && request.issuedBefore + skewMs < cutoff) return false;
  }
  const userId = `${request.roleId ?? '*'}:${request.leaseId}`;
  const until = bucketEnd(request.expiresAt);
  if ((entries.leases.get(userId) ?? 0) >= until) return false;
  entries.leases.set(userId, until);
  return true;
}
