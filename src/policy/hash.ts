import { createHash } from 'node:crypto';

/**
 * `sha256:<hex>` over the canonical JSON of the value: object keys sorted, `undefined` members
 * left out. Stamped on every lease and event, so it must not change with YAML key order.
 */
export function contentHash(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value)).digest('hex')}`;
}

/**
 * The digest of one policy as parsed (every field, defaults included): what an approval or a
 * budget binds to, so a reload that changes the deciding policy changes its digest.
 */
export function policyDigest(policy: object): string {
  return contentHash(policy);
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // JSON.stringify answers undefined for undefined, functions and symbols: write null, as
    // it does inside arrays.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const members = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map(
      (key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`,
    );
  return `{${members.join(',')}}`;
}
