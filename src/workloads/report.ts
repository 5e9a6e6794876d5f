import type { BrokerDeps } from '../broker/deps.js';
import { BrokerError } from '../errors.js';
import type { Lease } from '../leases/types.js';
import { type GrantView, grantsOf } from './grants.js';
import { reviewState } from './review-date.js';
import { DEFAULT_REVIEW_WARNING_MS } from './review-gate.js';
import { type CeilingSuggestion, suggestCeilings } from './suggestions.js';
import { tallyUsage, type Usage } from './usage.js';

/** A report reads at most this many lease records of the workload (then says `truncated`). */
export const MAX_REPORT_LEASES = 10_000;
/** …and at most this many entries of the event stream, looking for its denials. */
export const MAX_REPORT_STREAM_ENTRIES = 50_000;
/** The window a report may cover: 1 hour to 365 days (default 30 days). */
export const REPORT_WINDOW_MIN_MS = 3_600_000;
export const REPORT_WINDOW_MAX_MS = 365 * 86_400_000;

export type ReportDeps = Pick<
  BrokerDeps,
  'store' | 'runtime' | 'eventHistory' | 'leaseRetentionMs'
>;

export type DenialSummary =
  | {
      known: true;
      count: number;
      by_reason: { reason: string; count: number; last: string }[];
      by_target: { target: string; count: number; last: string }[];
      /** The stream held more than the report reads: the counts are a floor. */
      truncated: boolean;
    }
  | { known: false; reason: string };

export interface WorkloadReport {
  workload: string;
  configured: boolean;
  owner?: string;
  description?: string;
  tier?: string;
  review_by?: string;
  review: { state: 'none' | 'current' | 'due' | 'overdue'; deadline?: string };
  generated_at: string;
  window: {
    seconds: number;
    from: string;
    to: string;
    /** Finished leases are kept `leases.retention`: usage before this moment is not known. */
    leases_known_from: string;
  };
  /** What the policies allow the workload. */
  allowed: GrantView[];
  /** What it requested and received in the window. */
  used: Usage & { leases: number; live_leases: number; leases_read: number; truncated: boolean };
  denied: DenialSummary;
  /** Grants never used in the window; empty, as not known, when `used.truncated`. */
  unused: { policies: { policy: string; target: string }[]; targets: string[] };
  suggestions: CeilingSuggestion[];
}

/**
 * A workload's least-privilege report over a window: its grants (policies naming it), its
 * use (leases, active and retained), its denials (the event stream, when one is configured),
 * the grants it never used and tighter ceilings built from what it did use. No credential,
 * handle or token is ever read into it: leases give only their metadata.
 */
export async function workloadReport(
  deps: ReportDeps,
  workload: string,
  windowMs: number,
  /** The read bound (tests lower it). */
  maxLeases: number = MAX_REPORT_LEASES,
): Promise<WorkloadReport> {
  if (!(windowMs >= REPORT_WINDOW_MIN_MS && windowMs <= REPORT_WINDOW_MAX_MS)) {
    throw new BrokerError('invalid_request', 'window must be between 1h and 365d');
  }
  const runtime = deps.runtime();
  const config = runtime.workloads.get(workload);
  const now = await deps.store.now();
  const from = now - windowMs;
  const retention = deps.leaseRetentionMs ?? windowMs;
  const page = await deps.store.list({ workload }, maxLeases + 1);
  const truncated = page.leases.length > maxLeases;
  const read = page.leases.slice(0, maxLeases);
  if (config === undefined && read.length === 0) {
    throw new BrokerError('not_found', `no workload ${workload} is configured or has leases`);
  }
  const leases = read.filter((l) => l.createdAt >= from);
  const allowed = config === undefined ? [] : grantsOf(runtime.policy, config);
  const usage = tallyUsage(leases);
  const review =
    config === undefined
      ? { state: 'none' as const }
      : reviewState(config, now, runtime.reviewWarningMs ?? DEFAULT_REVIEW_WARNING_MS);
  return {
    workload,
    configured: config !== undefined,
    ...(config?.owner === undefined ? {} : { owner: config.owner }),
    ...(config?.description === undefined ? {} : { description: config.description }),
    ...(config === undefined ? {} : { tier: config.tier }),
    ...(config?.review_by === undefined ? {} : { review_by: config.review_by }),
    review:
      review.state === 'none'
        ? { state: 'none' }
        : { state: review.state, deadline: new Date(review.deadline).toISOString() },
    generated_at: new Date(now).toISOString(),
    window: {
      seconds: Math.floor(windowMs / 1000),
      from: new Date(from).toISOString(),
      to: new Date(now).toISOString(),
      leases_known_from: new Date(Math.max(from, now - retention)).toISOString(),
    },
    allowed,
    used: {
      ...usage,
      leases: leases.length,
      live_leases: read.filter((l) => !isFinished(l)).length,
      leases_read: read.length,
      truncated,
    },
    denied: await denials(deps, workload, from),
    // A cut read holds an arbitrary subset of the leases (their ids are random): a grant
    // missing from it may still be in use, and a ceiling built from it may drop a used scope.
    unused: truncated ? { policies: [], targets: [] } : unusedGrants(allowed, leases),
    suggestions: truncated
      ? suggestCeilings(allowed, leases, runtime.providers).map((s) => ({
          policy: s.policy,
          target: s.target,
          status: 'no_suggestion' as const,
          reason: 'leases not all read',
        }))
      : suggestCeilings(allowed, leases, runtime.providers),
  };
}

function isFinished(lease: Lease): boolean {
  return lease.state === 'revoked' || lease.state === 'expired';
}

/** Allow policies in force with no lease in the window, and their targets none of whose policies was used. */
function unusedGrants(
  allowed: readonly GrantView[],
  leases: readonly Lease[],
): WorkloadReport['unused'] {
  const usedPolicies = new Set(leases.map((l) => l.policy));
  const usedTargets = new Set(leases.map((l) => l.target));
  const grants = allowed.filter((g) => g.effect === 'allow' && g.mode === 'enforce');
  return {
    policies: grants
      .filter((g) => !usedPolicies.has(g.policy))
      .map((g) => ({ policy: g.policy, target: g.target })),
    targets: [...new Set(grants.map((g) => g.target))].filter((t) => !usedTargets.has(t)).sort(),
  };
}

async function denials(deps: ReportDeps, workload: string, from: number): Promise<DenialSummary> {
  if (deps.eventHistory === undefined) {
    return {
      known: false,
      reason: 'no Redis stream event sink is configured: denied requests are not known here',
    };
  }
  const { events, truncated } = await deps.eventHistory.since(
    from,
    MAX_REPORT_STREAM_ENTRIES,
    (e) => e.type === 'credential.denied' && e.workload === workload,
  );
  const reasons = new Map<string, { count: number; last: number }>();
  const targets = new Map<string, { count: number; last: number }>();
  for (const event of events) {
    const at = Date.parse(event.time);
    bump(reasons, event.reason ?? 'unknown', at);
    if (event.target !== undefined) bump(targets, event.target, at);
  }
  return {
    known: true,
    count: events.length,
    by_reason: [...reasons].map(([reason, t]) => ({ reason, count: t.count, last: iso(t.last) })),
    by_target: [...targets].map(([target, t]) => ({ target, count: t.count, last: iso(t.last) })),
    truncated,
  };
}

function bump(map: Map<string, { count: number; last: number }>, key: string, at: number): void {
  const entry = map.get(key);
  if (entry === undefined) map.set(key, { count: 1, last: at });
  else {
    entry.count += 1;
    if (at > entry.last) entry.last = at;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
