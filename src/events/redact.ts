import type { EventInput } from './types.js';

export const REDACTED = '[redacted]';
const TRUNCATED_MARK = '…[truncated]';

/**
 * Keys whose value is a secret whatever it looks like. `handle` catches revocation handles,
 * which let their holder undo a credential. Over-redaction is the safe failure here.
 */
const SECRET_KEY =
  /credential|token|passw|passphrase|pwd|secret|private[_-]?key|handle|authorization|api[_-]?key|cookie/i;
/** Digests of identity tokens are how events name a token; they stay. */
const ALLOWED_KEYS = new Set(['token_sha256']);

/** Secrets that show up inside free text (provider error messages, reasons). */
const SECRET_TEXT: readonly [RegExp, string][] = [
  [/eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, REDACTED],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, REDACTED],
  [/\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/g, REDACTED],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/-]+=*/gi, `$1 ${REDACTED}`],
  [/\b([a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]+):[^@/?#\s]+@/gi, `$1:${REDACTED}@`],
];

export interface RedactionLimits {
  /** Longest string kept, in UTF-16 code units. Task text must not flood a SIEM. */
  maxString: number;
  maxArrayItems: number;
  maxObjectKeys: number;
  maxDepth: number;
}

export const DEFAULT_LIMITS: RedactionLimits = {
  maxString: 1024,
  maxArrayItems: 100,
  maxObjectKeys: 100,
  maxDepth: 8,
};

export interface Redaction {
  /** JSON-clean copy of the input, holding only the fields of `EventInput`. */
  input: EventInput;
  /** How many values were replaced because they were, or looked like, secrets. */
  redacted: number;
  /** How many strings, arrays or objects were cut to the limits. */
  truncated: number;
}

/**
 * Makes an event safe to chain: copies only known fields, strips secrets from free-form
 * `scope` and `detail` by key, scrubs secret-shaped text everywhere, caps sizes, and turns
 * what JSON cannot carry (undefined, NaN, bigint, cycles) into something it can.
 */
export function redactEvent(
  input: EventInput,
  limits: RedactionLimits = DEFAULT_LIMITS,
): Redaction {
  const scrubber = new Scrubber(limits);
  const text = (value: string | undefined) =>
    value === undefined ? undefined : scrubber.text(value);
  const out: EventInput = { type: input.type, outcome: input.outcome };
  const fields: Partial<Record<keyof EventInput, unknown>> = {
    severity: input.severity,
    request_id: text(input.request_id),
    workload: text(input.workload),
    subject: text(input.subject),
    issuer: text(input.issuer),
    target: text(input.target),
    provider: text(input.provider),
    lease_id: text(input.lease_id),
    task: input.task && {
      id: scrubber.text(input.task.id),
      intent: scrubber.text(input.task.intent),
      ...(input.task.tool === undefined ? {} : { tool: scrubber.text(input.task.tool) }),
    },
    scope: input.scope === undefined ? undefined : scrubber.value(input.scope, 0),
    reason: text(input.reason),
    actor: text(input.actor),
    source_ip: text(input.source_ip),
    policy: text(input.policy),
    policy_hash: text(input.policy_hash),
    token_sha256: text(input.token_sha256),
    expires_at: text(input.expires_at),
    counts: input.counts && scrubber.counts(input.counts),
    detail: input.detail && (scrubber.value(input.detail, 0) as Record<string, unknown>),
  };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) (out as unknown as Record<string, unknown>)[key] = value;
  }
  return { input: out, redacted: scrubber.redacted, truncated: scrubber.truncated };
}

class Scrubber {
  redacted = 0;
  truncated = 0;
  readonly #limits: RedactionLimits;
  readonly #ancestors = new Set<object>();

  constructor(limits: RedactionLimits) {
    this.#limits = limits;
  }

  text(value: string): string {
    let scrubbed = value;
    for (const [pattern, replacement] of SECRET_TEXT) {
      scrubbed = scrubbed.replace(pattern, (...match: unknown[]) => {
        this.redacted += 1;
        return replacement.replace('$1', String(match[1]));
      });
    }
    if (scrubbed.length <= this.#limits.maxString) return scrubbed;
    this.truncated += 1;
    return scrubbed.slice(0, this.#limits.maxString) + TRUNCATED_MARK;
  }

  counts(value: Record<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, count] of Object.entries(value)) {
      if (typeof count === 'number' && Number.isFinite(count)) define(out, this.text(key), count);
    }
    return out;
  }

  value(value: unknown, depth: number): unknown {
    switch (typeof value) {
      case 'string':
        return this.text(value);
      case 'number':
        return Number.isFinite(value) ? value : null;
      case 'boolean':
        return value;
      case 'bigint':
        return value.toString();
      case 'object':
        break;
      default:
        return undefined;
    }
    if (value === null) return null;
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
    if (this.#ancestors.has(value)) return '[circular]';
    if (depth >= this.#limits.maxDepth) {
      this.truncated += 1;
      return TRUNCATED_MARK;
    }
    this.#ancestors.add(value);
    try {
      return Array.isArray(value) ? this.#array(value, depth) : this.#object(value, depth);
    } finally {
      this.#ancestors.delete(value);
    }
  }

  #array(value: readonly unknown[], depth: number): unknown[] {
    if (value.length > this.#limits.maxArrayItems) this.truncated += 1;
    return value
      .slice(0, this.#limits.maxArrayItems)
      .map((item) => this.value(item, depth + 1) ?? null);
  }

  #object(value: object, depth: number): Record<string, unknown> {
    const entries = Object.entries(value);
    if (entries.length > this.#limits.maxObjectKeys) this.truncated += 1;
    const out: Record<string, unknown> = {};
    for (const [key, member] of entries.slice(0, this.#limits.maxObjectKeys)) {
      if (member === undefined) continue;
      if (isSecretKey(key)) {
        this.redacted += 1;
        define(out, this.text(key), REDACTED);
        continue;
      }
      const clean = this.value(member, depth + 1);
      if (clean !== undefined) define(out, this.text(key), clean);
    }
    return out;
  }
}

// Plain assignment of a parsed `__proto__` key would replace the prototype instead.
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

export function isSecretKey(key: string): boolean {
  return !ALLOWED_KEYS.has(key) && SECRET_KEY.test(key);
}
