/**
 * The "other clients" of bench/db-kill-switch.ts, in their own process (so the broker's
 * event loop never delays their timers): a steady query load on one database, driven over
 * the IPC channel.
 *
 * Each of `connections` sessions (an ordinary application login) reads one row of a small
 * table on a fixed schedule, every `intervalMs`. Latency is measured from the scheduled
 * start, not the actual send: a query held up by the server delays the ones behind it, and
 * they count as late too (no coordinated omission). One more loop opens a fresh session,
 * reads the row and closes it every `connectEveryMs` (what a new client sees: authentication
 * reads the accounts the kill switch is dropping).
 */
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import pg from 'pg';

export interface LoadSpec {
  kind: 'postgres' | 'mysql';
  url: string;
  table: string;
  connections: number;
  intervalMs: number;
  connectEveryMs: number;
}

export type LoadCommand = { type: 'start'; spec: LoadSpec } | { type: 'stop' };

/** Flat [epoch ms of the scheduled start, latency ms] pairs. */
export type LoadReport =
  | { type: 'ready' }
  | { type: 'samples'; query: number[]; connect: number[]; errors: number; firstError: string }
  | { type: 'failed'; error: string };

interface Session {
  read(id: number): Promise<void>;
  close(): Promise<void>;
}

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function open(spec: LoadSpec): Promise<Session> {
  if (spec.kind === 'postgres') {
    const client = new pg.Client({ connectionString: spec.url, application_name: 'bench-load' });
    client.on('error', () => {});
    await client.connect();
    const text = `SELECT name FROM ${spec.table} WHERE id = $1`;
    return {
      read: async (id) => {
        await client.query({ name: 'read', text, values: [id] });
      },
      close: () => client.end(),
    };
  }
  const connection = await mysql.createConnection({ uri: spec.url });
  connection.on('error', () => {});
  const [database, table] = spec.table.split('.');
  const sql = `SELECT name FROM ${mysql.escapeId(database ?? '')}.${mysql.escapeId(table ?? '')} WHERE id = ?`;
  return {
    read: async (id) => {
      await connection.execute(sql, [id]);
    },
    close: () => connection.end(),
  };
}

let running = false;
const query: number[] = [];
const connect: number[] = [];
let errors = 0;
let firstError = '';

function failed(err: unknown): void {
  errors += 1;
  if (firstError === '') firstError = err instanceof Error ? err.message : String(err);
}

async function steady(spec: LoadSpec, index: number): Promise<void> {
  const session = await open(spec);
  // Spread the sessions over one interval so they do not all fire together.
  let scheduled = now() + (index * spec.intervalMs) / spec.connections;
  try {
    while (running) {
      const wait = scheduled - now();
      if (wait > 0) await sleep(wait);
      try {
        await session.read(1 + Math.floor(Math.random() * 100));
        query.push(scheduled, now() - scheduled);
      } catch (err) {
        failed(err);
      }
      scheduled += spec.intervalMs;
    }
  } finally {
    await session.close().catch(() => {});
  }
}

async function connecting(spec: LoadSpec): Promise<void> {
  let scheduled = now();
  while (running) {
    const wait = scheduled - now();
    if (wait > 0) await sleep(wait);
    try {
      const session = await open(spec);
      await session.read(1);
      connect.push(scheduled, now() - scheduled);
      await session.close();
    } catch (err) {
      failed(err);
    }
    scheduled += spec.connectEveryMs;
  }
}

let work: Promise<unknown> | undefined;

process.on('message', (command: LoadCommand) => {
  if (command.type === 'start') {
    running = true;
    const { spec } = command;
    const loops = Array.from({ length: spec.connections }, (_, i) => steady(spec, i));
    if (spec.connectEveryMs > 0) loops.push(connecting(spec));
    work = Promise.all(loops);
    work.catch((err: unknown) => {
      process.send?.({ type: 'failed', error: String(err) } satisfies LoadReport);
    });
    process.send?.({ type: 'ready' } satisfies LoadReport);
    return;
  }
  running = false;
  void (work ?? Promise.resolve())
    .catch(() => {})
    .then(() => {
      // Disconnecting before the (large) message is written would drop it.
      process.send?.(
        { type: 'samples', query, connect, errors, firstError } satisfies LoadReport,
        undefined,
        {},
        () => process.disconnect?.(),
      );
    });
});
