import type { WorkloadConfig } from '../config/schema.js';
import { compileGlob, type Glob } from '../lib/glob.js';
import type { VerifiedIdentity } from './types.js';

type ClaimMatcher = readonly [name: string, accepted: readonly string[]];

interface CompiledWorkload {
  readonly workload: WorkloadConfig;
  readonly subject: Glob | string;
  readonly claims: readonly ClaimMatcher[];
}

/**
 * A claim by name, or, when no claim has that exact name, by a `/`-separated path into
 * nested objects (`kubernetes.io/pod/name`), own properties only.
 */
function claimAt(claims: VerifiedIdentity['claims'], name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let value: unknown = claims;
  for (const step of name.split('/')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    if (!Object.hasOwn(value, step)) return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

/**
 * Only strings and numbers compare; an object, array or boolean claim never matches, so
 * `["a"]` cannot pass for `"a"` through string coercion.
 */
function claimText(claims: VerifiedIdentity['claims'], name: string): string | undefined {
  const value = claimAt(claims, name);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function compile(workload: WorkloadConfig): CompiledWorkload {
  return {
    workload,
    subject: workload.subject.includes('*') ? compileGlob(workload.subject) : workload.subject,
    claims: Object.entries(workload.claims ?? {}).map(
      ([name, accepted]): ClaimMatcher => [
        name,
        typeof accepted === 'string' ? [accepted] : accepted,
      ],
    ),
  };
}

function matches(entry: CompiledWorkload, identity: VerifiedIdentity): boolean {
  if (entry.workload.issuer !== identity.issuer) return false;
  const subjectOk =
    typeof entry.subject === 'string'
      ? entry.subject === identity.subject
      : entry.subject.test(identity.subject);
  if (!subjectOk) return false;
  return entry.claims.every(([name, accepted]) => {
    const value = claimText(identity.claims, name);
    return value !== undefined && accepted.includes(value);
  });
}

/**
 * Maps verified identities to configured workloads: the first entry, in config order, whose
 * issuer name, subject (exact or glob) and claim matchers all fit. No fit means no workload,
 * and the caller denies (deny by default).
 */
export class WorkloadMapping {
  readonly #entries: readonly CompiledWorkload[];

  constructor(workloads: readonly WorkloadConfig[]) {
    this.#entries = workloads.map(compile);
  }

  match(identity: VerifiedIdentity): WorkloadConfig | undefined {
    return this.#entries.find((entry) => matches(entry, identity))?.workload;
  }
}
