import { z } from 'zod';
import { duration } from '../config/duration.js';
import { isGlob } from '../policy/lib/glob.js';

/**
 * `detections:` — deterministic rules over the broker's own events. Each rule names what it
 * watches (`kind`), whose events (`workloads`: ids, globs, `tier:<tier>`; default every
 * workload), its thresholds, what it does when it fires (`actions`), whether it acts
 * (`mode`) and how long one incident lasts (`cooldown`). The engine is `src/detections/`;
 * `docs/detections.md` describes each kind.
 */

export const DETECTION_KINDS = [
  'denial_burst',
  'scope_escalation',
  'first_seen',
  'rate_baseline',
  'auth_failures',
  'time_window',
  'new_network',
  'revocation_unverified',
] as const;
export type DetectionKind = (typeof DETECTION_KINDS)[number];

export const DETECTION_ACTIONS = ['alert', 'require_approval', 'block'] as const;
export type DetectionAction = (typeof DETECTION_ACTIONS)[number];

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Largest `count` a rule may set: also the bound of each per-workload event window kept. */
export const MAX_COUNT = 1_000;
/** Items a first-seen or new-network history keeps per workload and rule. */
export const MAX_HISTORY = 512;
/** Buckets a rate baseline keeps per workload and rule (`baseline` / `window`). */
export const MAX_BUCKETS = 1_440;

const ruleName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-" only');

const ranged = (min: number, max: number, say: string) =>
  duration.refine((ms) => ms >= min && ms <= max, say);

const window = ranged(1_000, 86_400_000, 'between 1s and 24h');
const count = z.number().int().min(1).max(MAX_COUNT);
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 00:00 to 23:59');

/** `UTC` or a zone the runtime's time-zone database knows (`Europe/Paris`). */
const timezone = z
  .string()
  .min(1)
  .max(64)
  .refine((zone) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }, 'an IANA time zone (UTC, Europe/Paris, …)');

const common = {
  name: ruleName,
  /** Workload ids, globs (`agents-*`) or `tier:<tier>`; default every workload. */
  workloads: z.array(z.string().min(1).max(128)).min(1).max(256).optional(),
  actions: z.array(z.enum(DETECTION_ACTIONS)).min(1).max(3),
  /** `dry_run`: `detection.fired` with `mode: dry_run`, and no action. */
  mode: z.enum(['enforce', 'dry_run']).default('enforce'),
  /** After a firing, the same rule and workload neither fire nor act again until it passes. */
  cooldown: ranged(1_000, 7 * 86_400_000, 'between 1s and 7d').default(900_000),
  /** How long a `require_approval` hold lasts. */
  hold_for: ranged(60_000, 30 * 86_400_000, 'between 1m and 30d').default(86_400_000),
};

const counted = { count, window };

export const detectionRuleSchema = z.discriminatedUnion('kind', [
  z.object({ ...common, kind: z.literal('denial_burst'), ...counted }).strict(),
  z.object({ ...common, kind: z.literal('scope_escalation'), ...counted }).strict(),
  z.object({ ...common, kind: z.literal('auth_failures'), ...counted }).strict(),
  z
    .object({
      ...common,
      kind: z.literal('first_seen'),
      of: z.enum(['target', 'tool', 'scope']),
      /** What counts as seen: requested within the last `days` days. */
      days: z.number().int().min(1).max(365),
    })
    .strict(),
  z
    .object({
      ...common,
      kind: z.literal('rate_baseline'),
      /** The short window issuances are counted in (one bucket). */
      window: ranged(60_000, 86_400_000, 'between 1m and 24h'),
      /** The trailing span the baseline averages, in whole windows. */
      baseline: ranged(3_600_000, 30 * 86_400_000, 'between 1h and 30d').default(86_400_000),
      multiple: z.number().min(1.5).max(1_000),
      /** Issuances a window needs before it can fire, whatever the baseline. */
      min_count: z.number().int().min(1).max(100_000).default(20),
    })
    .strict(),
  z
    .object({
      ...common,
      kind: z.literal('time_window'),
      /** Requests are expected between `from` and `to` (`to` < `from` spans midnight). */
      hours: z.object({ from: hhmm, to: hhmm }).strict().optional(),
      days: z.array(z.enum(WEEKDAYS)).min(1).max(7).optional(),
      timezone: timezone.default('UTC'),
    })
    .strict(),
  z
    .object({
      ...common,
      kind: z.literal('new_network'),
      ipv4_prefix: z.number().int().min(8).max(32).default(24),
      ipv6_prefix: z.number().int().min(16).max(128).default(64),
      days: z.number().int().min(1).max(365).default(30),
    })
    .strict(),
  z
    .object({
      ...common,
      kind: z.literal('revocation_unverified'),
      /**
       * Only `alert`: the incident is a credential that may outlive its revocation, which a
       * block (another kill switch, verified again) or a hold cannot undo; and a kill switch
       * of the rule's own must never feed the rule.
       */
      actions: z
        .array(z.literal('alert', { message: 'revocation_unverified only alerts' }))
        .min(1)
        .max(1)
        .default(['alert']),
    })
    .strict(),
]);
export type DetectionRuleConfig = z.infer<typeof detectionRuleSchema>;

export const detectionsSchema = z
  .array(detectionRuleSchema)
  .max(200)
  .default([])
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    rules.forEach((rule, i) => {
      const at = (path: PropertyKey[], message: string) =>
        ctx.addIssue({ code: 'custom', message, path: [i, ...path] });
      if (seen.has(rule.name)) at(['name'], `duplicate detection name ${rule.name}`);
      seen.add(rule.name);
      if (new Set(rule.actions).size !== rule.actions.length) at(['actions'], 'an action twice');
      if (rule.kind === 'time_window' && rule.hours === undefined && rule.days === undefined) {
        at(['hours'], 'set hours, days or both');
      }
      if (rule.kind === 'time_window' && rule.hours && rule.hours.from === rule.hours.to) {
        at(['hours'], 'from and to are the same time');
      }
      if (rule.kind === 'rate_baseline') {
        const buckets = rule.baseline / rule.window;
        if (!Number.isInteger(buckets) || buckets < 2 || buckets > MAX_BUCKETS) {
          at(
            ['baseline'],
            `a whole number of windows between 2 and ${MAX_BUCKETS} (${rule.baseline / 1000}s / ${rule.window / 1000}s)`,
          );
        }
      }
      rule.workloads?.forEach((w, j) => {
        if (w.startsWith('tier:') && !['tier:read', 'tier:write', 'tier:admin'].includes(w)) {
          at(['workloads', j], 'tier:read, tier:write or tier:admin');
        }
      });
    });
  });

/**
 * What the schema cannot check alone: an exact workload id must name a configured workload
 * (globs and tiers match whoever fits). Issues in `runtime.ts`'s dotted form.
 */
export function detectionReferenceIssues(
  detections: readonly DetectionRuleConfig[],
  workloads: readonly { id: string }[],
): string[] {
  const known = new Set(workloads.map((w) => w.id));
  const issues: string[] = [];
  detections.forEach((rule, i) => {
    rule.workloads?.forEach((w, j) => {
      if (!w.startsWith('tier:') && !isGlob(w) && !known.has(w)) {
        issues.push(`detections.${i}.workloads.${j}: no workload named ${w}`);
      }
    });
  });
  return issues;
}
