import { stringify } from 'yaml';
import { replaceControlCharacters } from '../../lib/control-characters.js';
import type { OutputFormat } from './settings.js';

/**
 * What a terminal may be shown: lease subjects, task ids, tools and reasons come from
 * workloads and operators, and an escape sequence in one would drive the operator's terminal
 * (move the cursor, rewrite earlier lines, set the title). Control characters become U+FFFD.
 */
export function forTerminal(text: string): string {
  return replaceControlCharacters(text);
}

/** Columns aligned with two spaces, as kubectl prints them. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const safe = rows.map((r) => r.map(forTerminal));
  const widths = safe[0]?.map((_, i) => Math.max(...safe.map((r) => (r[i] ?? '').length))) ?? [];
  return safe.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * A table for any answer: an array of objects has a column per key; an object with one
 * array member (`{ workloads: [...] }`) is that array; any other object is KEY/VALUE rows.
 */
export function genericTable(value: unknown): string[] {
  if (Array.isArray(value)) {
    const rows = value.filter(
      (v): v is Record<string, unknown> => typeof v === 'object' && v !== null,
    );
    if (rows.length === 0) return value.length === 0 ? ['(none)'] : value.map(cell);
    const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    return table([
      keys.map((k) => k.toUpperCase()),
      ...rows.map((r) => keys.map((k) => cell(r[k]))),
    ]);
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    const arrays = entries.filter(([, v]) => Array.isArray(v));
    if (entries.length === 1 && arrays.length === 1) return genericTable(arrays[0]?.[1]);
    return table(entries.map(([k, v]) => [`${k}:`, cell(v)]));
  }
  return [forTerminal(cell(value))];
}

/** The server's JSON as is for json and yaml; `toTable` (or the generic table) for humans. */
export function render(
  format: OutputFormat,
  value: unknown,
  toTable: (value: unknown) => string[] = genericTable,
): string[] {
  switch (format) {
    case 'json':
      return [JSON.stringify(value, null, 2)];
    case 'yaml':
      return [stringify(value, { lineWidth: 0 }).trimEnd()];
    case 'table':
      return toTable(value);
  }
}
