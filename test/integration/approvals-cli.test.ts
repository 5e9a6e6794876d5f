import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { requestTicketsRead } from '../helpers/lease-http.js';
import { runOperatorCli } from '../helpers/operator-cli.js';

/** `jit-broker approvals list|get|approve|deny` against a live broker. */
describe('approvals CLI', () => {
  let h: Harness;
  let agentA: string;

  beforeAll(async () => {
    h = await startHarness({
      listen: true,
      configure: (raw) => {
        (raw.policies as unknown[]).push({
          name: 'cli-approval',
          workloads: ['agent-a'],
          target: 'tickets',
          allow: { scopes: ['tickets:read'] },
          intents: ['escalate'],
          default_ttl: '5m',
          max_ttl: '15m',
          approval: 'required',
        });
      },
    });
    agentA = await h.workloadToken('spiffe://test/agent-a');
  });
  afterAll(async () => {
    await h.close();
  });

  async function run(args: string[], roles: string[]): Promise<string[]> {
    return runOperatorCli(args, {
      env: { JIT_BROKER_URL: h.broker.url, JIT_BROKER_TOKEN: await h.operatorToken(roles) },
    });
  }
  const ask = (task: string) => requestTicketsRead(h, agentA, { id: task, intent: 'escalate' });

  it('lists pending approvals, approves one with a reason, and the workload collects', async () => {
    const waiting = await ask('cli-1');
    expect(waiting.status).toBe(202);
    const { approval_id } = (await waiting.json()) as { approval_id: string };

    const listed = await run(['approvals', 'list', '--status', 'pending'], ['approver']);
    expect(listed.join('\n')).toContain(approval_id);
    expect(listed[0]).toMatch(/^APPROVAL\s+STATUS\s+WORKLOAD/);

    const approved = JSON.parse(
      (
        await run(
          ['-o', 'json', 'approvals', 'approve', approval_id, '--reason', 'ticket INC-7'],
          ['approver'],
        )
      ).join('\n'),
    ) as { status: string; reason: string };
    expect(approved).toMatchObject({ status: 'approved', reason: 'ticket INC-7' });
    expect((await ask('cli-1')).status).toBe(201);
  });

  it('deny needs --reason, and a viewer is refused', async () => {
    const waiting = await ask('cli-2');
    const { approval_id } = (await waiting.json()) as { approval_id: string };
    await expect(run(['approvals', 'deny', approval_id], ['approver'])).rejects.toThrow(/reason/);
    await expect(
      run(['approvals', 'deny', approval_id, '--reason', 'no'], ['viewer']),
    ).rejects.toThrow(/403|forbidden|role/i);
    const denied = await run(['approvals', 'deny', approval_id, '--reason', 'no'], ['admin']);
    expect(denied.join('\n')).toContain('denied');
    const refused = await ask('cli-2');
    expect(refused.status).toBe(403);
  });
});
