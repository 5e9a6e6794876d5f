import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { eventually, requestTicketsRead } from '../helpers/lease-http.js';
import { runOperatorCli } from '../helpers/operator-cli.js';

/*
 * `jit-broker workloads receipt ID` against a broker on the memory store (dev mode's): the
 * kill switch's receipt, as a table and as JSON, and a clear failure when there is none.
 */

describe('jit-broker workloads receipt', () => {
  let h: Harness;
  let env: NodeJS.ProcessEnv;
  const run = (args: string[]) => runOperatorCli(args, { env });

  beforeAll(async () => {
    h = await startHarness({ listen: true });
    env = { JIT_BROKER_URL: h.broker.url, JIT_BROKER_TOKEN: await h.operatorToken(['revoker']) };
  });
  afterAll(async () => {
    await h.close();
  });

  it('prints the last kill switch with each target verified', async () => {
    const agent = await h.workloadToken('spiffe://test/agent-a');
    for (const id of ['cli-1', 'cli-2']) {
      const res = await requestTicketsRead(h, agent, { id, intent: 'triage' });
      expect(res.status).toBe(201);
    }
    await run(['workloads', 'revoke', 'agent-a', '--reason', 'cli receipt drill']);
    await h.broker.verifier.idle();
    const settled = await eventually(async () => {
      const body = JSON.parse(
        (await run(['-o', 'json', 'workloads', 'receipt', 'agent-a'])).join(''),
      );
      return body.verification?.verified === 2 && body.counts !== undefined;
    });
    expect(settled).toBe(true);

    const json = JSON.parse(
      (await run(['-o', 'json', 'workloads', 'receipt', 'agent-a'])).join(''),
    );
    expect(json).toMatchObject({
      workload: 'agent-a',
      reason: 'cli receipt drill',
      counts: { revoked: 2, failed: 0, pending: 0 },
      verification: {
        verified: 2,
        unverified: 0,
        targets: [{ target: 'tickets', provider: 'jwt', verified: 2 }],
      },
    });
    expect(json.events.verifications).toHaveLength(2);

    const table = (await run(['workloads', 'receipt', 'agent-a'])).join('\n');
    expect(table).toMatch(/kill switch of agent-a at .* by alice@example\.com: cli receipt drill/);
    expect(table).toMatch(/answer: 2 revoked, 0 failed, 0 pending/);
    expect(table).toMatch(/verification: 2 verified, 0 unverified, 0 unverifiable/);
    expect(table).toMatch(/tickets\s+jwt\s+2\s+0\s+0/);
  });

  it('fails with the problem when the workload has no receipt', async () => {
    await expect(run(['workloads', 'receipt', 'agent-b'])).rejects.toThrow(/receipt_not_found/);
  });
});
