import type { Command } from 'commander';
import { CLI_EXIT } from './exit-codes.js';
import { CliError, type OperatorIo } from './io.js';
import { callBroker } from './lib/broker-request.js';
import { show, target } from './lib/context.js';
import { forTerminal, table } from './lib/output.js';

interface Count {
  count: number;
  last_used: string;
}

/** The parts of `GET /v1/workloads/{id}/report` the text view prints. */
interface ReportView {
  workload: string;
  configured: boolean;
  owner?: string;
  tier?: string;
  review_by?: string;
  review: { state: string };
  window: { from: string; to: string; leases_known_from: string };
  allowed: {
    policy: string;
    effect: string;
    mode: string;
    target: string;
    intents: string[];
    tools?: string[];
    max_ttl_seconds?: number;
  }[];
  used: {
    leases: number;
    live_leases: number;
    truncated: boolean;
    by_target: (Count & { target: string })[];
    by_scope: (Count & { target: string; scope: unknown })[];
    by_tool: (Count & { tool: string })[];
    by_intent: (Count & { intent: string })[];
  };
  denied: { known: boolean; reason?: string; count?: number; truncated?: boolean };
  unused: { policies: { policy: string; target: string }[]; targets: string[] };
  suggestions: { policy: string; target: string; status: string; yaml?: string; reason?: string }[];
}

/**
 * `jit-broker workloads report ID` (one workload's least-privilege report) and
 * `jit-broker workloads report --all` (the inventory of every machine identity).
 */
export function registerWorkloadReportCommand(workloads: Command, io: OperatorIo): void {
  workloads
    .command('report [id]')
    .description(
      'Least-privilege report of a workload: grants, use over a window, unused grants and tighter ceilings; --all: every machine identity',
    )
    .option('--window <duration>', 'how far back (1h\u2013365d)', '30d')
    .option(
      '--all',
      'the inventory of every workload: owner, tier, review date, live leases, last use',
    )
    .action(
      async (
        workload: string | undefined,
        opts: { window: string; all?: boolean },
        command: Command,
      ) => {
        const broker = target(io, command);
        if (opts.all === true) {
          if (workload !== undefined) {
            throw new CliError('give a workload id or --all, not both', CLI_EXIT.usage);
          }
          const inventory = await callBroker(broker, {
            method: 'GET',
            path: '/v1/workloads/inventory',
          });
          return show(io, command, inventory, (value) => inventoryTable(value as InventoryView));
        }
        if (workload === undefined) {
          throw new CliError('name a workload, or --all for every one', CLI_EXIT.usage);
        }
        const report = await callBroker(broker, {
          method: 'GET',
          path: `/v1/workloads/${encodeURIComponent(workload)}/report`,
          query: new URLSearchParams({ window: opts.window }),
        });
        show(io, command, report, (value) => reportText(value as ReportView));
      },
    );
}

function reportText(r: ReportView): string[] {
  const lines: string[] = [];
  const section = (title: string) => lines.push('', title);
  lines.push(
    ...table([
      ['workload:', r.workload + (r.configured ? '' : ' (no longer configured)')],
      ['owner:', r.owner ?? '(none)'],
      ['tier:', r.tier ?? ''],
      ['review by:', r.review_by === undefined ? '(none)' : `${r.review_by} (${r.review.state})`],
      ['window:', `${r.window.from} .. ${r.window.to}`],
      ['leases known from:', r.window.leases_known_from],
    ]),
  );
  section('ALLOWED');
  lines.push(
    ...table([
      ['POLICY', 'TARGET', 'EFFECT', 'MODE', 'INTENTS', 'TOOLS', 'MAX TTL'],
      ...r.allowed.map((g) => [
        g.policy,
        g.target,
        g.effect,
        g.mode,
        g.intents.join(','),
        (g.tools ?? []).join(','),
        g.max_ttl_seconds === undefined ? '' : `${g.max_ttl_seconds}s`,
      ]),
    ]),
  );
  section(
    `USED: ${r.used.leases} leases, ${r.used.live_leases} live${r.used.truncated ? ' (truncated: more leases than a report reads)' : ''}`,
  );
  lines.push(
    ...table([
      ['TARGET', 'SCOPE', 'COUNT', 'LAST USED'],
      ...r.used.by_scope.map((s) => [
        s.target,
        JSON.stringify(s.scope),
        String(s.count),
        s.last_used,
      ]),
    ]),
  );
  if (r.used.by_tool.length > 0) {
    lines.push(
      '',
      ...table([
        ['TOOL', 'COUNT', 'LAST USED'],
        ...r.used.by_tool.map((t) => [t.tool, String(t.count), t.last_used]),
      ]),
    );
  }
  lines.push(
    '',
    ...table([
      ['INTENT', 'COUNT', 'LAST USED'],
      ...r.used.by_intent.map((t) => [t.intent, String(t.count), t.last_used]),
    ]),
  );
  section(
    r.denied.known
      ? `DENIED: ${r.denied.count ?? 0}${r.denied.truncated ? ' (at least: the stream held more than a report reads)' : ''}`
      : `DENIED: unknown (${r.denied.reason ?? ''})`,
  );
  section('NEVER USED');
  lines.push(
    forTerminal(`targets: ${r.unused.targets.join(', ') || '(none)'}`),
    forTerminal(
      `policies: ${r.unused.policies.map((p) => `${p.policy} (${p.target})`).join(', ') || '(none)'}`,
    ),
  );
  section('SUGGESTED CEILINGS');
  if (r.suggestions.length === 0) lines.push('(none: nothing was used)');
  for (const s of r.suggestions) {
    if (s.status === 'suggested' && s.yaml !== undefined) {
      lines.push(forTerminal(`# ${s.policy} on ${s.target}: paste over the policy's allow`));
      lines.push(...s.yaml.trimEnd().split('\n').map(forTerminal));
    } else {
      lines.push(forTerminal(`# ${s.policy} on ${s.target}: ${s.reason ?? s.status}`));
    }
  }
  return lines;
}

interface InventoryView {
  truncated: boolean;
  workloads: {
    workload: string;
    configured: boolean;
    owner?: string;
    tier?: string;
    review_by?: string;
    review_due: boolean;
    review_overdue: boolean;
    live_leases: number;
    blocked: boolean;
    last_used?: string;
    last_used_partial?: boolean;
  }[];
}

function inventoryTable(inv: InventoryView): string[] {
  const review = (w: InventoryView['workloads'][number]) =>
    w.review_by === undefined
      ? ''
      : `${w.review_by}${w.review_overdue ? ' OVERDUE' : w.review_due ? ' due' : ''}`;
  const lines = table([
    ['WORKLOAD', 'OWNER', 'TIER', 'REVIEW BY', 'LIVE', 'LAST USED', 'STATE'],
    ...inv.workloads.map((w) => [
      w.workload,
      w.owner ?? '',
      w.tier ?? '',
      review(w),
      String(w.live_leases),
      (w.last_used ?? '') + (w.last_used_partial ? ' (or later)' : ''),
      [w.configured ? '' : 'not configured', w.blocked ? 'blocked' : ''].filter(Boolean).join(', '),
    ]),
  ]);
  if (inv.truncated) lines.push('(leases not all read: some last uses are older than the truth)');
  return lines;
}
