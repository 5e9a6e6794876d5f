import { type Command, Option } from 'commander';
import { LEASE_STATES } from '../leases/types.js';
import { registerApprovalCommands } from './approvals.js';
import { completionCommand } from './completion.js';
import { registerEventCommands } from './events.js';
import { CLI_EXIT } from './exit-codes.js';
import { registerGlobalOptions } from './global-options.js';
import { CliError, type OperatorIo } from './io.js';
import { callBroker } from './lib/broker-request.js';
import { show, target } from './lib/context.js';
import { table } from './lib/output.js';
import { registerPolicyCommands } from './policy.js';
import { registerStatus } from './status.js';
import { registerWorkloadReceiptCommand } from './workload-receipt.js';
import { registerWorkloadReportCommand } from './workload-report.js';

export { CliError, type OperatorIo } from './io.js';

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

function leaseTable(value: unknown): string[] {
  const rows = (Array.isArray(value) ? value : [value]) as LeaseRow[];
  return table([
    ['LEASE', 'WORKLOAD', 'TARGET', 'STATE', 'TASK', 'EXPIRES', 'ATTEMPTS', 'LAST ERROR'],
    ...rows.map((l) => [
      l.lease_id,
      l.workload,
      l.target,
      l.state,
      `${l.task?.id}/${l.task?.intent}`,
      l.expires_at,
      String(l.attempts),
      l.last_error ?? '',
    ]),
  ]);
}

const id = (segment: string) => encodeURIComponent(segment);

/**
 * The operator's side of the HTTP API (`status`, `leases`, `task`, `workloads`, `revoke`,
 * `freeze`, `policy`, `events`), the options they share and `completion`.
 */
export function registerOperatorCommands(program: Command, io: OperatorIo): void {
  registerGlobalOptions(program);
  registerStatus(program, io);

  const leases = program
    .command('leases')
    .description('List, read, renew, revoke and retry leases');
  leases
    .command('list')
    .description('List leases; `--state revoke_failed` shows revocations that need attention')
    .option('--workload <id>', 'only this workload\u2019s leases')
    .option('--task <id>', 'only this task\u2019s leases')
    .option('--target <name>', 'only leases on this target')
    .addOption(new Option('--state <state>', 'only leases in this state').choices(LEASE_STATES))
    .addOption(new Option('--json', 'same as --output json').hideHelp())
    .action(
      async (
        opts: { workload?: string; task?: string; target?: string; state?: string; json?: boolean },
        command: Command,
      ) => {
        const broker = target(io, command);
        const rows: LeaseRow[] = [];
        let cursor: string | undefined;
        do {
          const query = new URLSearchParams({ limit: '500' });
          for (const key of ['workload', 'task', 'target', 'state'] as const) {
            const value = opts[key];
            if (value !== undefined) query.set(key, value);
          }
          if (cursor) query.set('cursor', cursor);
          const page = (await callBroker(broker, { method: 'GET', path: '/v1/leases', query })) as {
            leases: LeaseRow[];
            next_cursor?: string;
          };
          rows.push(...page.leases);
          cursor = page.next_cursor;
        } while (cursor);
        if (opts.json) return io.out(JSON.stringify(rows, null, 2));
        show(io, command, rows, leaseTable);
      },
    );
  leases
    .command('get <id>')
    .description('One lease\u2019s metadata (never the credential)')
    .action(async (lease: string, _opts: unknown, command: Command) =>
      show(
        io,
        command,
        await callBroker(target(io, command), { method: 'GET', path: `/v1/leases/${id(lease)}` }),
        leaseTable,
      ),
    );
  leases
    .command('renew <id>')
    .description(
      'Extend a lease within its policy\u2019s max_ttl; only the identity that was issued it may (a workload token)',
    )
    .option('--ttl <seconds>', 'the new TTL in seconds, 1\u201386400 (default: the policy\u2019s)')
    .action(async (lease: string, opts: { ttl?: string }, command: Command) => {
      const ttl = opts.ttl === undefined ? undefined : Number(opts.ttl);
      if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 1 && ttl <= 86_400)) {
        throw new CliError(
          `--ttl: not a number of seconds from 1 to 86400: ${opts.ttl}`,
          CLI_EXIT.usage,
        );
      }
      const answer = await callBroker(target(io, command), {
        method: 'POST',
        path: `/v1/leases/${id(lease)}/renew`,
        body: ttl === undefined ? {} : { ttl },
      });
      show(io, command, answer);
    });
  leases
    .command('retry <id>')
    .description('Retry the revocation of a revoke_failed lease now')
    .action(async (lease: string, _opts: unknown, command: Command) =>
      show(
        io,
        command,
        await callBroker(target(io, command), {
          method: 'POST',
          path: `/v1/leases/${id(lease)}/retry`,
        }),
      ),
    );
  leases
    .command('revoke <id>')
    .description('Revoke one lease')
    .action(async (lease: string, _opts: unknown, command: Command) =>
      show(
        io,
        command,
        await callBroker(target(io, command), {
          method: 'DELETE',
          path: `/v1/leases/${id(lease)}`,
        }),
      ),
    );

  program
    .command('task')
    .description('Tasks: the unit a credential is bound to')
    .command('end <task_id>')
    .description('End a task: revoke every lease the workload holds for it')
    .requiredOption('--workload <id>', 'the workload whose task it is')
    .action(async (task: string, opts: { workload: string }, command: Command) =>
      show(
        io,
        command,
        await callBroker(target(io, command), {
          method: 'POST',
          path: `/v1/tasks/${id(task)}/revoke`,
          query: new URLSearchParams({ workload: opts.workload }),
        }),
      ),
    );

  const workloads = program.command('workloads').description('Workloads and the kill switch');
  workloads
    .command('list')
    .description('Workloads with live lease counts and the blocked flag')
    .action(async (_opts: unknown, command: Command) =>
      show(
        io,
        command,
        await callBroker(target(io, command), { method: 'GET', path: '/v1/workloads' }),
      ),
    );
  workloads
    .command('revoke <id>')
    .description('Kill switch: revoke every lease of the workload')
    .requiredOption('--reason <text>', 'why, for the audit trail (1\u2013256 characters)')
    .option('--block', 'also refuse new credentials until unblocked')
    .action(async (workload: string, opts: { reason: string; block?: boolean }, command: Command) =>
      show(
        io,
        command,
        await callBroker(target(io, command), {
          method: 'POST',
          path: `/v1/workloads/${id(workload)}/revoke`,
          body: { reason: opts.reason, block: opts.block === true },
        }),
      ),
    );
  workloads
    .command('unblock <id>')
    .description('Lift a block (admin)')
    .action(async (workload: string, _opts: unknown, command: Command) =>
      show(
        io,
        command,
        await callBroker(target(io, command), {
          method: 'POST',
          path: `/v1/workloads/${id(workload)}/unblock`,
        }),
      ),
    );

  workloads
    .command('hold <id>')
    .description("Show a detection's approval hold on the workload")
    .action(async (workload: string, _opts: unknown, command: Command) =>
      show(
        io,
        command,
        await callBroker(target(io, command), {
          method: 'GET',
          path: `/v1/workloads/${id(workload)}/hold`,
        }),
      ),
    );
  workloads
    .command('release <id>')
    .description("Lift a detection's approval hold before it ends (admin)")
    .action(async (workload: string, _opts: unknown, command: Command) =>
      show(
        io,
        command,
        await callBroker(target(io, command), {
          method: 'DELETE',
          path: `/v1/workloads/${id(workload)}/hold`,
        }),
      ),
    );

  registerWorkloadReportCommand(workloads, io);
  registerWorkloadReceiptCommand(workloads, io);

  program
    .command('revoke')
    .description('Revoke every live lease matching a selector (incident response)')
    .requiredOption('--reason <text>', 'why, for the audit trail (1\u2013256 characters)')
    .option('--target <name>', 'leases on this target')
    .option('--issuer <name>', 'leases issued to identities of this issuer')
    .option('--subject <glob>', 'identities whose subject matches, e.g. "repo:acme/*"')
    .option('--workload <id>', 'leases of this workload')
    .action(
      async (
        opts: {
          reason: string;
          target?: string;
          issuer?: string;
          subject?: string;
          workload?: string;
        },
        command: Command,
      ) =>
        show(
          io,
          command,
          await callBroker(target(io, command), { method: 'POST', path: '/v1/revoke', body: opts }),
        ),
    );
  program
    .command('freeze')
    .description('Stop all issuance (revocation keeps working)')
    .requiredOption('--reason <text>', 'why, for the audit trail (1\u2013256 characters)')
    .action(async (opts: { reason: string }, command: Command) =>
      show(
        io,
        command,
        await callBroker(target(io, command), { method: 'POST', path: '/v1/freeze', body: opts }),
      ),
    );
  program
    .command('unfreeze')
    .description('Resume issuance')
    .action(async (_opts: unknown, command: Command) =>
      show(
        io,
        command,
        await callBroker(target(io, command), { method: 'DELETE', path: '/v1/freeze' }),
      ),
    );

  registerPolicyCommands(program, io);
  registerApprovalCommands(program, io);
  registerEventCommands(program, io);
  completionCommand(program, io);
}
