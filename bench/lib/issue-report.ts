import type { PointResult, RedisPerRequest } from './issue-load.js';
import { count, heading, table } from './report.js';

export type ServerKind = 'broker' | 'floor' | 'peer';
export type Variant = 'reused' | 'fresh';

export interface IssuePoint extends PointResult, Partial<RedisPerRequest> {
  kind: ServerKind;
  variant: Variant;
  connections: number;
  /** The fixed offered rate, or null for a closed loop. */
  overallRate: number | null;
  /** Fresh-token points only: tokens handed out a second time because the pool ran out. */
  tokensReused: number;
}

export interface PgPoint extends PointResult, Partial<RedisPerRequest> {
  kind: 'broker' | 'floor';
  connections: number;
}

export interface IssueRun {
  date: string;
  machine: string;
  durationSeconds: number;
  /** 1-minute load average of the machine when the run started and ended. */
  loadAverage: { start: number; end?: number };
  points: IssuePoint[];
  pg: PgPoint[];
  /** Why the PostgreSQL part is missing, when it failed. */
  pgError?: string;
  summary?: Record<string, unknown>;
}

const mean = (values: readonly number[]) =>
  values.length === 0 ? Number.NaN : values.reduce((s, v) => s + v, 0) / values.length;
const fixed = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '–');

interface Combined {
  reqPerSec: number;
  p50: number;
  p99: number;
  cpu: number;
  redisCpu: number;
  redisCommands: number;
  redisScripts: number;
  runs: number;
}

function combine(points: readonly (PointResult & Partial<RedisPerRequest>)[]): Combined {
  return {
    reqPerSec: mean(points.map((p) => p.reqPerSec)),
    p50: mean(points.map((p) => p.p50)),
    p99: mean(points.map((p) => p.p99)),
    cpu: mean(points.map((p) => p.cpuPerRequest)),
    redisCpu: mean(points.map((p) => p.redisCpuPerRequest ?? Number.NaN)),
    redisCommands: mean(points.map((p) => p.redisCommandsPerRequest ?? Number.NaN)),
    redisScripts: mean(points.map((p) => p.redisScriptsPerRequest ?? Number.NaN)),
    runs: points.length,
  };
}

/** Markdown tables on stdout; the broker's figures are the mean of its runs around the floor's. */
export function printReport(run: IssueRun): void {
  console.log(`## Issuance against its floor\n`);
  const load = run.loadAverage;
  console.log(
    `${run.machine}; ${run.durationSeconds} s per point; load average ${load.start.toFixed(1)} at start, ${load.end?.toFixed(1) ?? '?'} at end\n`,
  );
  const summary: Record<string, unknown> = {};
  const groups = new Map<string, IssuePoint[]>();
  for (const point of run.points) {
    const key = `${point.variant}|${point.connections}|${point.overallRate ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), point]);
  }
  const rows: string[][] = [];
  for (const [key, points] of groups) {
    const [variant, connections, rate] = key.split('|');
    const label = `${variant} token, ${rate === '' ? `${connections} conn.` : `${count(Number(rate))} req/s offered`}`;
    const by = (kind: ServerKind) => combine(points.filter((p) => p.kind === kind));
    const floor = by('floor');
    const entry: Record<string, unknown> = {};
    for (const kind of ['broker', 'floor', 'peer'] as const) {
      const c = by(kind);
      if (c.runs === 0) continue;
      entry[kind] = c;
      rows.push([
        label,
        kind === 'broker' ? `broker (${c.runs} runs)` : kind,
        count(c.reqPerSec),
        fixed(c.p50, 1),
        fixed(c.p99, 1),
        fixed(c.cpu),
        fixed(c.redisCpu),
        `${fixed(c.redisScripts, 1)} / ${fixed(c.redisCommands, 1)}`,
        kind === 'floor' ? '1' : ratio(c.reqPerSec / floor.reqPerSec),
        kind === 'floor' ? '1' : ratio(c.cpu / floor.cpu),
      ]);
    }
    summary[key] = entry;
  }
  console.log(
    table(
      [
        'load',
        'server',
        'req/s',
        'p50 ms',
        'p99 ms',
        'server CPU µs/req',
        'Redis CPU µs/req',
        'Redis scripts / commands per req',
        'req/s ÷ floor',
        'CPU ÷ floor',
      ],
      rows,
    ),
  );
  const failures = run.points.filter((p) => p.failed + p.errors > 0 || p.tokensReused > 0);
  for (const p of failures) {
    console.log(
      `\n${p.kind} ${p.variant} ${p.connections} conn.: ${p.failed} non-2xx, ${p.errors} errors, ${p.tokensReused} tokens reused`,
    );
  }
  if (run.pgError !== undefined) {
    console.log(`\nPostgreSQL issuance not measured: ${run.pgError}`);
  }
  if (run.pg.length > 0) {
    heading('PostgreSQL issuance against its floor');
    const broker = combine(run.pg.filter((p) => p.kind === 'broker'));
    const floor = combine(run.pg.filter((p) => p.kind === 'floor'));
    const connections = run.pg[0]?.connections ?? 0;
    console.log(
      table(
        [
          'server',
          'connections',
          'req/s',
          'p50 ms',
          'p99 ms',
          'server CPU µs/req',
          'req/s ÷ floor',
        ],
        [
          [
            `broker (${broker.runs} runs)`,
            String(connections),
            count(broker.reqPerSec),
            fixed(broker.p50, 1),
            fixed(broker.p99, 1),
            fixed(broker.cpu),
            ratio(broker.reqPerSec / floor.reqPerSec),
          ],
          [
            'floor',
            String(connections),
            count(floor.reqPerSec),
            fixed(floor.p50, 1),
            fixed(floor.p99, 1),
            fixed(floor.cpu),
            '1',
          ],
        ],
      ),
    );
    const pgFailures = run.pg.filter((p) => p.failed + p.errors > 0);
    for (const p of pgFailures)
      console.log(`\npostgres ${p.kind}: ${p.failed} non-2xx, ${p.errors} errors`);
    summary.postgres = { broker, floor };
  }
  run.summary = summary;
}
