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
  // Data whose object members already come in canonical order serialises identically with
  // the engine's JSON.stringify, which is several times faster than `serialize`; the chain
  // builds events in that order. Anything else (unordered members, or data JSON.stringify
  // would quietly coerce) takes the general path.
  return isOrderedJson(value, 0) ? JSON.stringify(value) : serialize(value, []);
}

/** Deeper than redaction ever lets through; past it (or in a cycle) `serialize` decides. */
const MAX_ORDERED_DEPTH = 32;

function isOrderedJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth >= MAX_ORDERED_DEPTH) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (prototype !== Array.prototype) return false;
    for (let index = 0; index < value.length; index += 1) {
      const item: unknown = value[index];
      if (item === undefined || !isOrderedJson(item, depth + 1)) return false;
    }
    return true;
  }
  // No toJSON from a prototype (Date and friends), so JSON.stringify sees only own members,
  // in Object.keys order.
  if (prototype !== Object.prototype && prototype !== null) return false;
  const record = value as Record<string, unknown>;
  let previous: string | undefined;
  for (const key of Object.keys(record)) {
    if (previous !== undefined && !(previous < key)) return false;
    const member = record[key];
    if (member !== undefined && !isOrderedJson(member, depth + 1)) return false;
    previous = key;
  }
  return true;
}

// Runs once per event on the hot path, hence plain loops and string concatenation. A
// throw abandons the whole call, so `ancestors` needs no clean-up on the way out.
function serialize(value: unknown, ancestors: object[]): string {
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
  if (ancestors.includes(value)) throw new TypeError('canonical JSON: circular structure');
  ancestors.push(value);
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let index = 0; index < value.length; index += 1) {
      const item: unknown = value[index];
      if (item === undefined) throw new TypeError('canonical JSON: undefined in an array');
      out += (index === 0 ? '' : ',') + serialize(item, ancestors);
    }
    out += ']';
  } else {
    const record = value as Record<string, unknown>;
    out = '{';
    for (const key of Object.keys(record).sort()) {
      const member = record[key];
      if (member === undefined) continue;
      out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${serialize(member, ancestors)}`;
    }
    out += '}';
  }
  ancestors.pop();
  return out;
}
