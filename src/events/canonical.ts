/**
 * Canonical JSON in the spirit of RFC 8785 (JCS): object members sorted by UTF-16 code
 * units, no whitespace, numbers and strings serialised as ECMAScript `JSON.stringify` does
 * (which is what JCS specifies). Members whose value is `undefined` are omitted, as they are
 * when the event is later written with `JSON.stringify`, so signer and verifier agree.
 *
 * Only JSON data is accepted: anything else (non-finite numbers, bigint, functions, symbols,
 * `undefined` inside an array, cycles) is a programmer mistake and throws a `TypeError`.
 * Event input is made JSON-clean by `redact.ts` before it reaches the chain.
 */
export function canonicalize(value: unknown): string {
  return serialize(value, new Set());
}

function serialize(value: unknown, ancestors: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${value} is not finite`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonical JSON: cannot serialise a ${typeof value}`);
  }
  if (ancestors.has(value)) throw new TypeError('canonical JSON: circular structure');
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      const items = value.map((item: unknown) => {
        if (item === undefined) throw new TypeError('canonical JSON: undefined in an array');
        return serialize(item, ancestors);
      });
      return `[${items.join(',')}]`;
    }
    const members: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member === undefined) continue;
      members.push(`${JSON.stringify(key)}:${serialize(member, ancestors)}`);
    }
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(value);
  }
}
