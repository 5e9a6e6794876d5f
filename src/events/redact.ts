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

/**
 * Secrets that show up inside free text (provider error messages, reasons). `hint` matches
 * wherever `pattern` could (case aside): text matching no hint skips the patterns.
 */
const SECRET_TEXT: readonly { hint: RegExp; pattern: RegExp; replacement: string }[] = [
  {
    hint: /eyJ/,
    pattern: /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g,
    replacement: REDACTED,
  },
  {
    hint: /-----BEGIN /,
    pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
    replacement: REDACTED,
  },
  {
    hint: /gh[pousr]_|github_pat_/,
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/g,
    replacement: REDACTED,
  },
  {
    hint: /(?:bearer|basic)\s/,
    pattern: /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/-]+=*/gi,
    replacement: `$1 ${REDACTED}`,
  },
  {
    hint: /:\/\/[^\s/]*@/,
    pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]+):[^@/?#\s]+@/gi,
    replacement: `$1:${REDACTED}@`,
  },
];
const MAYBE_SECRET_TEXT = new RegExp(
  SECRET_TEXT.map((entry) => `(?:${entry.hint.source})`).join('|'),
  'i',
);

/** `value` with every secret shape of SECRET_TEXT replaced; `onRedact` counts replacements. */
export function scrubText(value: string, onRedact?: () => void): string {
  if (!MAYBE_SECRET_TEXT.test(value)) return value;
  let scrubbed = value;
  for (const { pattern, replacement } of SECRET_TEXT) {
    scrubbed = scrubbed.replace(pattern, (...match: unknown[]) => {
      onRedact?.();
      return replacement.replace('$1', String(match[1]));
    });
  }
  return scrubbed;
}

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
 * `scope` and `detail` by key, scrubs secret-shaped text from free text, caps sizes, and
 * turns what JSON cannot carry (undefined, NaN, bigint, cycles) into something it can.
 *
 * Identifier fields (`request_id`, `workload`, `issuer`, `target`, `provider`, `lease_id`,
 * `policy`, `policy_hash`, `token_sha256`, `expires_at`; `type`, `outcome`, `severity` and
 * the chain's own `time` never pass through here as text) hold names and ids the broker
 * generated or matched against its configuration, so they are only capped, not scrubbed:
 * the scrubbing regexes were a large share of an event's cost. Text that can come from a
 * caller, a token or a provider (`subject`, `task`, `scope`, `reason`, `actor`,
 * `source_ip`, `detail`, `counts` keys) is still scrubbed.
 */
export function redactEvent(
  input: EventInput,
  limits: RedactionLimits = DEFAULT_LIMITS,
): Redaction {
  const scrubber = new Scrubber(limits);
  // One named store per field keeps `out` a fast-mode object for V8 (see chain.ts).
  const out: EventInput = { type: input.type, outcome: input.outcome };
  if (input.severity !== undefined) out.severity = input.severity;
  if (input.request_id !== undefined) out.request_id = scrubber.identifier(input.request_id);
  if (input.workload !== undefined) out.workload = scrubber.identifier(input.workload);
  if (input.subject !== undefined) out.subject = scrubber.text(input.subject);
  if (input.issuer !== undefined) out.issuer = scrubber.identifier(input.issuer);
  if (input.target !== undefined) out.target = scrubber.identifier(input.target);
  if (input.provider !== undefined) out.provider = scrubber.identifier(input.provider);
  if (input.lease_id !== undefined) out.lease_id = scrubber.identifier(input.lease_id);
  if (input.task) {
    const task: NonNullable<EventInput['task']> = {
      id: scrubber.text(input.task.id),
      intent: scrubber.text(input.task.intent),
    };
    if (input.task.tool !== undefined) task.tool = scrubber.text(input.task.tool);
    out.task = task;
  }
  if (input.scope !== undefined) {
    const scope = scrubber.value(input.scope, 0);
    if (scope !== undefined) out.scope = scope;
  }
  if (input.reason !== undefined) out.reason = scrubber.text(input.reason);
  if (input.actor !== undefined) out.actor = scrubber.text(input.actor);
  if (input.source_ip !== undefined) out.source_ip = scrubber.text(input.source_ip);
  if (input.policy !== undefined) out.policy = scrubber.identifier(input.policy);
  if (input.policy_hash !== undefined) out.policy_hash = scrubber.identifier(input.policy_hash);
  if (input.token_sha256 !== undefined) {
    out.token_sha256 = scrubber.identifier(input.token_sha256);
  }
  if (input.expires_at !== undefined) out.expires_at = scrubber.identifier(input.expires_at);
  if (input.counts) out.counts = scrubber.counts(input.counts);
  if (input.detail) out.detail = scrubber.value(input.detail, 0) as Record<string, unknown>;
  return { input: out, redacted: scrubber.redacted, truncated: scrubber.truncated };
}

class Scrubber {
  redacted = 0;
  truncated = 0;
  readonly #limits: RedactionLimits;
  // An array, not a Set: nesting is shallow, and most events have nothing nested to track.
  readonly #ancestors: object[] = [];

  constructor(limits: RedactionLimits) {
    this.#limits = limits;
  }

  text(value: string): string {
    return this.capped(
      scrubText(value, () => {
        this.redacted += 1;
      }),
    );
  }

  /** Names and ids the broker made or validated: capped, not scrubbed (see `redactEvent`). */
  identifier(value: string): string {
    return this.capped(String(value));
  }

  capped(value: string): string {
    if (value.length <= this.#limits.maxString) return value;
    this.truncated += 1;
    return value.slice(0, this.#limits.maxString) + TRUNCATED_MARK;
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
    if (this.#ancestors.includes(value)) return '[circular]';
    if (depth >= this.#limits.maxDepth) {
      this.truncated += 1;
      return TRUNCATED_MARK;
    }
    this.#ancestors.push(value);
    try {
      return Array.isArray(value) ? this.#array(value, depth) : this.#object(value, depth);
    } finally {
      this.#ancestors.pop();
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
