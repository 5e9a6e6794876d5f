import type { Command } from 'commander';
import { registerEventCommands } from './events.js';
import { CliError, type OperatorIo } from './io.js';

export { CliError, type OperatorIo } from './io.js';

interface Call {
  method: string;
  path: string;
  body?: unknown;
}

async function call(io: OperatorIo, { method, path, body }: Call): Promise<unknown> {
  const url = io.env.JIT_BROKER_URL;
  const token = io.env.JIT_BROKER_TOKEN;
  if (!url) throw new CliError('set JIT_BROKER_URL to the broker, e.g. https://broker.internal');
  if (!token) throw new CliError('set JIT_BROKER_TOKEN to an operator JWT or break-glass token');
  const res = await io.fetch(new URL(path, url), {
    method,
    redirect: 'error',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const problem = parsed as { code?: string; detail?: string; request_id?: string };
    throw new CliError(
      `${res.status} ${problem.code ?? ''}: ${problem.detail ?? ''} (request ${problem.request_id ?? '?'})`,
    );
  }
  return parsed;
}

interface LeaseRow {
  lease_id: string;
  workload: string;
  target: string;
  state: string;
  task: { id: string; intent: string };
  expires_at: string;
  attempts: number;
  last_error?: string;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * `leases`, `workloads`, `revoke`, `freeze` and `policy`: the operator's side of the HTTP
 * API; and `events`, which works offline on exported events.
 */
export function registerOperatorCommands(program: Command, io: OperatorIo): void {
  const print = (value: unknown) => io.out(JSON.stringify(value, null, 2));

  const leases = program
    .command('leases')
    .description('List, revoke and retry leases (JIT_BROKER_URL, JIT_BROKER_TOKEN)');
  leases
    .command('list')
    .description('List leases; `--state revoke_failed` shows revocations that need attention')
    .option('--workload <id>')
    .option('--task <id>')
    .option('--target <name>')
    .option('--state <state>')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        workload?: string;
        task?: string;
        target?: string;
        state?: string;
        json?: boolean;
      }) => {
        const rows: LeaseRow[] = [];
        let cursor: string | undefined;
        do {
          const query = new URLSearchParams({ limit: '500' });
          for (const key of ['workload', 'task', 'target', 'state'] as const) {
            const value = opts[key];
            if (value !== undefined) query.set(key, value);
          }
          if (cursor) query.set('cursor', cursor);
          const page = (await call(io, { method: 'GET', path: `/v1/leases?${query}` })) as {
            leases: LeaseRow[];
            next_cursor?: string;
          };
          rows.push(...page.leases);
          cursor = page.next_cursor;
        } while (cursor);
        if (opts.json) return print(rows);
        const lines = table([
          ['LEASE', 'WORKLOAD', 'TARGET', 'STATE', 'TASK', 'EXPIRES', 'ATTEMPTS', 'LAST ERROR'],
          ...rows.map((l) => [
            l.lease_id,
            l.workload,
            l.target,
            l.state,
            `${l.task.id}/${l.task.intent}`,
            l.expires_at,
            String(l.attempts),
            l.last_error ?? '',
          ]),
        ]);
        for (const line of lines) io.out(line);
      },
    );
  leases
    .command('retry <id>')
    .description('Retry the revocation of a revoke_failed lease now')
    .action(async (id: string) =>
      print(await call(io, { method: 'POST', path: `/v1/leases/${encodeURIComponent(id)}/retry` })),
    );
  leases
    .command('revoke <id>')
    .description('Revoke one lease')
    .action(async (id: string) =>
      print(await call(io, { method: 'DELETE', path: `/v1/leases/${encodeURIComponent(id)}` })),
    );

  const workloads = program.command('workloads').description('Workloads and the kill switch');
  workloads
    .command('list')
    .action(async () => print(await call(io, { method: 'GET', path: '/v1/workloads' })));
  workloads
    .command('revoke <id>')
    .description('Kill switch: revoke every lease of the workload')
    .requiredOption('--reason <text>')
    .option('--block', 'also refuse new credentials until unblocked')
    .action(async (id: string, opts: { reason: string; block?: boolean }) =>
      print(
        await call(io, {
          method: 'POST',
          path: `/v1/workloads/${encodeURIComponent(id)}/revoke`,
          body: { reason: opts.reason, block: opts.block === true },
        }),
      ),
    );
  workloads
    .command('unblock <id>')
    .action(async (id: string) =>
      print(
        await call(io, { method: 'POST', path: `/v1/workloads/${encodeURIComponent(id)}/unblock` }),
      ),
    );

  program
    .command('revoke')
    .description('Revoke every live lease matching a selector (incident response)')
    .requiredOption('--reason <text>')
    .option('--target <name>')
    .option('--issuer <name>')
    .option('--subject <glob>')
    .option('--workload <id>')
    .action(
      async (opts: {
        reason: string;
        target?: string;
        issuer?: string;
        subject?: string;
        workload?: string;
      }) => print(await call(io, { method: 'POST', path: '/v1/revoke', body: opts })),
    );
  program
    .command('freeze')
    .description('Stop all issuance (revocation keeps working)')
    .requiredOption('--reason <text>')
    .action(async (opts: { reason: string }) =>
      print(await call(io, { method: 'POST', path: '/v1/freeze', body: opts })),
    );
  program
    .command('unfreeze')
    .description('Resume issuance')
    .action(async () => print(await call(io, { method: 'DELETE', path: '/v1/freeze' })));

  program
    .command('policy')
    .description('Try policies without issuing anything (JIT_BROKER_URL, JIT_BROKER_TOKEN)')
    .command('simulate')
    .description('Ask the broker what it would decide for a request')
    .requiredOption('--workload <id>')
    .requiredOption('--target <name>')
    .requiredOption('--scope <json>', 'the scope, as JSON')
    .requiredOption('--intent <intent>')
    .option('--task <id>', 'task id', 'simulated')
    .option('--ttl <seconds>', 'requested TTL in seconds')
    .option('--claims <json>', 'identity claims, as JSON')
    .action(
      async (opts: {
        workload: string;
        target: string;
        scope: string;
        intent: string;
        task: string;
        ttl?: string;
        claims?: string;
      }) => {
        const body = {
          workload: opts.workload,
          target: opts.target,
          scope: json('--scope', opts.scope),
          task: { id: opts.task, intent: opts.intent },
          ...(opts.claims === undefined ? {} : { claims: json('--claims', opts.claims) }),
          ...(opts.ttl === undefined ? {} : { ttl: Number(opts.ttl) }),
        };
        print(await call(io, { method: 'POST', path: '/v1/policy/simulate', body }));
      },
    );

  registerEventCommands(program, io);
}

function json(option: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${option} is not valid JSON`);
  }
}
