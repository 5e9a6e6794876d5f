import { type Command, Option } from 'commander';
import { APPROVAL_STATUSES } from '../approvals/types.js';
import type { OperatorIo } from './io.js';
import { callBroker } from './lib/broker-request.js';
import { show, target } from './lib/context.js';
import { table } from './lib/output.js';

interface ApprovalRow {
  approval_id: string;
  status: string;
  workload: string;
  target: string;
  task: { id: string; intent: string; tool?: string };
  policy: string;
  expires_at: string;
  decided_by?: string;
}

function approvalTable(value: unknown): string[] {
  const rows = (
    Array.isArray(value) ? value : ((value as { approvals?: unknown[] }).approvals ?? [value])
  ) as ApprovalRow[];
  return table([
    ['APPROVAL', 'STATUS', 'WORKLOAD', 'TARGET', 'TASK', 'POLICY', 'EXPIRES', 'DECIDED BY'],
    ...rows.map((a) => [
      a.approval_id,
      a.status,
      a.workload,
      a.target,
      `${a.task?.id}/${a.task?.intent}${a.task?.tool ? `/${a.task.tool}` : ''}`,
      a.policy,
      a.expires_at,
      a.decided_by ?? '',
    ]),
  ]);
}

/** `approvals list|get|approve|deny`: the approver's side of requests that wait for a human. */
export function registerApprovalCommands(program: Command, io: OperatorIo): void {
  const approvals = program
    .command('approvals')
    .description('Requests that wait for an approver: list, read, approve, deny');
  approvals
    .command('list')
    .description('Approvals, newest first')
    .addOption(new Option('--status <status>', 'only this status').choices(APPROVAL_STATUSES))
    .option('--workload <id>', 'only this workload\u2019s')
    .action(async (opts: { status?: string; workload?: string }, command: Command) => {
      const query = new URLSearchParams({ limit: '500' });
      if (opts.status !== undefined) query.set('status', opts.status);
      if (opts.workload !== undefined) query.set('workload', opts.workload);
      const answer = (await callBroker(target(io, command), {
        method: 'GET',
        path: '/v1/approvals',
        query,
      })) as { approvals: ApprovalRow[] };
      show(io, command, answer.approvals, approvalTable);
    });
  approvals
    .command('get <id>')
    .description('One approval: the exact request it covers and its status')
    .action(async (approval: string, _opts: unknown, command: Command) =>
      show(
        io,
        command,
        await callBroker(target(io, command), {
          method: 'GET',
          path: `/v1/approvals/${encodeURIComponent(approval)}`,
        }),
        approvalTable,
      ),
    );
  for (const decision of ['approve', 'deny'] as const) {
    approvals
      .command(`${decision} <id>`)
      .description(
        decision === 'approve'
          ? 'Approve: the workload collects the credential by repeating the same request, once'
          : 'Deny: the same request is refused until the approval expires',
      )
      .requiredOption('--reason <text>', 'why, for the audit trail (1\u2013500 characters)')
      .action(async (approval: string, opts: { reason: string }, command: Command) =>
        show(
          io,
          command,
          await callBroker(target(io, command), {
            method: 'POST',
            path: `/v1/approvals/${encodeURIComponent(approval)}/${decision}`,
            body: { reason: opts.reason },
          }),
          approvalTable,
        ),
      );
  }
}
