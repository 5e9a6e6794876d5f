import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';

/** Markdown output, so a run's figures paste straight into bench/README.md. */

export function ms(value: number): string {
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 10) return `${value.toFixed(0)} ms`;
  return `${value.toFixed(1)} ms`;
}

export function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function rate(perSecond: number, unit = '/s'): string {
  return `${count(perSecond)}${unit}`;
}

export function bytes(value: number): string {
  if (value >= 1024 * 1024) return `${(value / 1024 / 1024).toFixed(1)} MiB`;
  return `${Math.round(value).toLocaleString('en-US')} B`;
}

export function percent(part: number, whole: number): string {
  return whole === 0 ? '–' : `${((100 * part) / whole).toFixed(0)} %`;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function heading(text: string): void {
  console.log(`\n### ${text}\n`);
}

/** Progress goes to stderr so stdout holds only the report. */
export function progress(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

export function machine(redisVersion: string): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${new Date().toISOString().slice(0, 10)}; ${availableParallelism()} cores (${cpu}); Node ${process.version}; Redis ${redisVersion}`;
}

export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

export function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index === -1 ? undefined : process.argv[index + 1];
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new TypeError(`--${name}: expected a number, got ${value}`);
  return parsed;
}

export const sleep = (milliseconds: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, milliseconds));

/**
 * Times each case `runs` times in turn and returns its table row: label, median, p90.
 * Progress names each case as it starts.
 */
export async function timedRows(
  runs: number,
  cases: readonly (readonly [string, () => Promise<unknown>])[],
): Promise<string[][]> {
  const rows: string[][] = [];
  for (const [label, run] of cases) {
    progress(label);
    const samples: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      const start = performance.now();
      await run();
      samples.push(performance.now() - start);
    }
    samples.sort((a, b) => a - b);
    rows.push([label, ms(percentile(samples, 50)), ms(percentile(samples, 90))]);
  }
  return rows;
}
