import type { Command } from 'commander';
import type { OperatorIo } from './io.js';
import { callBroker } from './lib/broker-request.js';
import { show, target } from './lib/context.js';
import { forTerminal, table } from './lib/output.js';

interface Position {
  instance: string;
  seq: number;
}

/** The parts of `GET /v1/workloads/{id}/revocation-receipt` the table view prints. */
interface ReceiptView {
  workload: string;
  at: string;
  by?: string;
  reason: string;
  blocked: boolean;
  counts?: { revoked: number; failed: number; pending: number };
  verification: {
    verified: number;
    unverified: number;
    unverifiable: number;
    targets: {
      target: string;
      provider: string;
      verified: number;
      unverified: number;
      unverifiable: number;
    }[];
  };
  events: {
    workload_revoked?: Position;
    verifications: (Position & { lease_id: string; target: string; status: string })[];
    verifications_omitted: number;
  };
}

const at = (p: Position | undefined) => (p === undefined ? '-' : `${p.instance}#${p.seq}`);

function receiptTable(value: unknown): string[] {
  const r = value as ReceiptView;
  const lines = [
    forTerminal(`kill switch of ${r.workload} at ${r.at} by ${r.by ?? '-'}: ${r.reason}`),
    `blocked: ${r.blocked ? 'yes' : 'no'}`,
    r.counts === undefined
      ? 'answer: not yet'
      : `answer: ${r.counts.revoked} revoked, ${r.counts.failed} failed, ${r.counts.pending} pending`,
    `workload.revoked event: ${forTerminal(at(r.events.workload_revoked))}`,
    `verification: ${r.verification.verified} verified, ${r.verification.unverified} unverified, ${r.verification.unverifiable} unverifiable`,
    '',
    ...table([
      ['TARGET', 'PROVIDER', 'VERIFIED', 'UNVERIFIED', 'UNVERIFIABLE'],
      ...r.verification.targets.map((t) =>
        [
          t.target,
          t.provider,
          String(t.verified),
          String(t.unverified),
          String(t.unverifiable),
        ].map(forTerminal),
      ),
    ]),
  ];
  const unverified = r.events.verifications.filter((v) => v.status !== 'verified');
  if (unverified.length > 0) {
    lines.push(
      '',
      ...table([
        ['LEASE', 'TARGET', 'STATUS', 'EVENT'],
        ...unverified.map((v) => [v.lease_id, v.target, v.status, at(v)].map(forTerminal)),
      ]),
    );
  }
  return lines;
}

/** `jit-broker workloads receipt ID`: the receipt of the workload's last kill switch. */
export function registerWorkloadReceiptCommand(workloads: Command, io: OperatorIo): void {
  workloads
    .command('receipt <id>')
    .description(
      "Receipt of the workload's last kill switch: counts, each target's proof of revocation, chain positions",
    )
    .action(async (workload: string, _opts: unknown, command: Command) =>
      show(
        io,
        command,
        await callBroker(target(io, command), {
          method: 'GET',
          path: `/v1/workloads/${encodeURIComponent(workload)}/revocation-receipt`,
        }),
        receiptTable,
      ),
    );
}
