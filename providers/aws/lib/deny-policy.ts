import { WORKLOAD_TAG } from './tags.js';

/**
 * The broker's inline role policy: Deny statements that end sessions before their expiry.
 *
 * - Per lease: `StringLike aws:userid = <RoleId>:<lease id>` (the session name is the lease
 *   id). Leases are grouped by the minute their expiry falls in; a group's Sid carries that
 *   minute, and the group is pruned once it has passed, when the session policy denies
 *   everything anyway. When the role id is unknown (a crash before any session was seen)
 *   the entry is `*:<lease id>`, equivalent on this role's own policy.
 * - Per workload (the kill switch): `StringEquals aws:PrincipalTag/jit-workload = W` and
 *   `DateLessThan aws:TokenIssueTime = cutoff`, one statement per workload, pruned once every
 *   session issued before the cutoff has expired at STS.
 *
 * The policy's `Id` carries the fencing token of the last writer: a writer whose lock was
 * lost never overwrites what a later lock holder wrote.
 */

const LEASE_SID = /^JitLeasesUntil(\d{10})$/;
const WORKLOAD_SID = /^JitWorkload\d+$/;
const FENCE_ID = /^jit-broker-fence-(\d{1,15})$/;
const BUCKET_MS = 60_000;

export interface DenyEntries {
  fence: number;
  /** user id pattern → the end (ms) of the minute its lease expires in. */
  leases: Map<string, number>;
  /** workload → token issue cutoff (ms). */
  workloads: Map<string, number>;
  /** Statements someone else put in the policy: kept as they are. */
  foreign: unknown[];
}

export const emptyEntries = (): DenyEntries => ({
  fence: 0,
  leases: new Map(),
  workloads: new Map(),
  foreign: [],
});

export const cloneEntries = (entries: DenyEntries): DenyEntries => ({
  fence: entries.fence,
  leases: new Map(entries.leases),
  workloads: new Map(entries.workloads),
  foreign: [...entries.foreign],
});

/** Puts `from`'s entries back into `into` (merging while fitting may have moved minutes). */
export function restoreEntries(into: DenyEntries, from: DenyEntries): void {
  into.leases = from.leases;
  into.workloads = from.workloads;
  into.foreign = from.foreign;
}

export const bucketEnd = (expiresAt: number) => Math.ceil(expiresAt / BUCKET_MS) * BUCKET_MS;

interface Statement {
  Sid?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export function parseDenyPolicy(text: string): DenyEntries {
  const doc = JSON.parse(text) as { Id?: unknown; Statement?: unknown };
  const entries = emptyEntries();
  const fence = typeof doc.Id === 'string' ? FENCE_ID.exec(doc.Id) : null;
  entries.fence = fence === null ? 0 : Number(fence[1]);
  const statements = Array.isArray(doc.Statement) ? (doc.Statement as Statement[]) : [];
  for (const statement of statements) {
    const sid = typeof statement.Sid === 'string' ? statement.Sid : '';
    const lease = LEASE_SID.exec(sid);
    if (lease !== null) {
      const until = Number(lease[1]) * 1000;
      for (const userId of asList(statement.Condition?.StringLike?.['aws:userid'])) {
        entries.leases.set(userId, Math.max(until, entries.leases.get(userId) ?? 0));
      }
      continue;
    }
    if (WORKLOAD_SID.test(sid)) {
      const workload = statement.Condition?.StringEquals?.[`aws:PrincipalTag/${WORKLOAD_TAG}`];
      const cutoff = Date.parse(String(statement.Condition?.DateLessThan?.['aws:TokenIssueTime']));
      if (typeof workload === 'string' && Number.isFinite(cutoff)) {
        entries.workloads.set(workload, Math.max(cutoff, entries.workloads.get(workload) ?? 0));
        continue;
      }
    }
    entries.foreign.push(statement);
  }
  return entries;
}

function asList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Drops what can no longer matter: expired lease groups, workload cutoffs all sessions outlived. */
export function pruneEntries(entries: DenyEntries, now: number, maxSessionMs: number): void {
  for (const [userId, until] of entries.leases) if (until <= now) entries.leases.delete(userId);
  for (const [workload, cutoff] of entries.workloads) {
    if (cutoff + maxSessionMs <= now) entries.workloads.delete(workload);
  }
}

/** Groups of lease entries by their Sid's minute, latest last. */
function leaseGroups(entries: DenyEntries): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const [userId, until] of [...entries.leases].sort((a, b) => a[1] - b[1])) {
    const group = groups.get(until) ?? [];
    group.push(userId);
    groups.set(until, group);
  }
  return groups;
}

export function renderDenyPolicy(entries: DenyEntries): string {
  const statements: unknown[] = [...entries.foreign];
  for (const [until, userIds] of leaseGroups(entries)) {
    statements.push({
      Sid: `JitLeasesUntil${Math.floor(until / 1000)}`,
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { StringLike: { 'aws:userid': userIds.sort() } },
    });
  }
  let n = 0;
  for (const [workload, cutoff] of [...entries.workloads].sort((a, b) => a[1] - b[1])) {
    statements.push({
      Sid: `JitWorkload${++n}`,
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: {
        StringEquals: { [`aws:PrincipalTag/${WORKLOAD_TAG}`]: workload },
        DateLessThan: { 'aws:TokenIssueTime': `${new Date(cutoff).toISOString().slice(0, 19)}Z` },
      },
    });
  }
  // IAM refuses a policy without statements; no session's user id is ever this one.
  if (statements.length === 0) {
    statements.push({
      Sid: 'JitNone',
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { StringEquals: { 'aws:userid': 'jit-broker:none' } },
    });
  }
  return JSON.stringify({
    Version: '2012-10-17',
    Id: `jit-broker-fence-${entries.fence}`,
    Statement: statements,
  });
}

/**
 * Makes the policy fit `maxChars` without losing a live entry: neighbouring lease groups are
 * merged into the later minute (a lease denied a little longer than needed is harmless),
 * until one group is left. Answers the rendered policy, or `null` when even that is too big.
 */
export function fitDenyPolicy(entries: DenyEntries, maxChars: number): string | null {
  for (;;) {
    const text = renderDenyPolicy(entries);
    if (text.length <= maxChars) return text;
    const minutes = [...new Set(entries.leases.values())].sort((a, b) => a - b);
    if (minutes.length < 2) return null;
    // Merge the two closest minutes: the least extra denial for one statement less.
    let pick = 0;
    for (let i = 1; i < minutes.length - 1; i++) {
      if (
        (minutes[i + 1] as number) - (minutes[i] as number) <
        (minutes[pick + 1] as number) - (minutes[pick] as number)
      )
        pick = i;
    }
    const from = minutes[pick] as number;
    const into = minutes[pick + 1] as number;
    for (const [userId, until] of entries.leases)
      if (until === from) entries.leases.set(userId, into);
  }
}
