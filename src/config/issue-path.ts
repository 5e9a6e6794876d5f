import type { z } from 'zod';

/** A list entry is named by the first of these it carries, so paths survive reordering. */
const ENTRY_KEYS = ['name', 'id', 'kid'] as const;

/**
 * `policies[tickets-mcp-triage].max_ttl` rather than `policies.3.max_ttl`: an operator finds
 * an entry by its name, and the index shifts as soon as someone inserts one above it.
 * Entries without a name keep their index, in brackets all the same.
 */
export function namedPath(segments: readonly PropertyKey[], root: unknown): string {
  let node: unknown = root;
  let out = '';
  for (const segment of segments) {
    const key = typeof segment === 'symbol' ? (segment.description ?? '') : String(segment);
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      const entry: unknown = node[Number(key)];
      const name = entryName(entry);
      // A name two entries share (the duplicate being reported) would not say which one.
      const unique = name !== undefined && node.filter((e) => entryName(e) === name).length === 1;
      out += `[${unique ? name : key}]`;
      node = entry;
      continue;
    }
    out += out === '' ? key : `.${key}`;
    node =
      node !== null && typeof node === 'object'
        ? (node as Record<string, unknown>)[key]
        : undefined;
  }
  return out === '' ? '(root)' : out;
}

function entryName(entry: unknown): string | undefined {
  if (entry === null || typeof entry !== 'object') return undefined;
  for (const key of ENTRY_KEYS) {
    const value = (entry as Record<string, unknown>)[key];
    // A name that would make the path ambiguous to read back is shown as its index.
    if (typeof value === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(value)) return value;
  }
  return undefined;
}

/** `targets.1.provider`, `policies[0].when` → segments. */
export function splitPath(path: string): string[] {
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((s) => s !== '');
}

const LEADING_PATH = /^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+|\[\d+\])*)(: )/;

/**
 * Checks outside this module (sinks, signing, the policy engine) report `dotted.0.path: …`;
 * rewriting the leading path here keeps one format whoever found the problem.
 */
export function nameIssue(issue: string, root: unknown): string {
  const match = LEADING_PATH.exec(issue);
  if (!match?.[1]) return issue;
  return `${namedPath(splitPath(match[1]), root)}${issue.slice(match[1].length)}`;
}

/** The keys an object schema knows at `path`, looking through defaults, optionals and lists. */
export function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: unknown = schema;
  for (const segment of [...path, undefined]) {
    node = unwrap(node);
    const def = defOf(node);
    if (def === undefined) return [];
    if (segment === undefined) {
      return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
    }
    if (def.type === 'array') node = def.element;
    else if (def.type === 'object' && def.shape) node = def.shape[String(segment)];
    else return [];
  }
  return [];
}

interface Def {
  type: string;
  innerType?: unknown;
  in?: unknown;
  element?: unknown;
  shape?: Record<string, unknown>;
}

function defOf(node: unknown): Def | undefined {
  return (node as { _zod?: { def?: Def } } | undefined)?._zod?.def;
}

function unwrap(node: unknown): unknown {
  for (let current = node; ; ) {
    const def = defOf(current);
    if (def === undefined) return current;
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === 'pipe') current = def.in;
    else return current;
  }
}

/** The known key nearest to `key`, when near enough to be the one meant. */
export function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  // Beyond a third of the word, a suggestion is a guess that misleads more than it helps.
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Damerau–Levenshtein (optimal string alignment): a swapped pair counts as one typo. */
function distance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [];
    for (let j = 0; j <= b.length; j++) {
      if (i === 0 || j === 0) {
        row.push(i + j);
        continue;
      }
      const above = rows[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? Number.POSITIVE_INFINITY;
}
