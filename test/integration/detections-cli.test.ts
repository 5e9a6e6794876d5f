import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { eventually } from '../helpers/lease-http.js';
import { runOperatorCli } from '../helpers/operator-cli.js';

/*
 * `jit-broker workloads hold|release` against a live broker whose detection held a workload.
 */

describe('detection holds from the operator CLI', () => {
  let h: Harness;
  const env = async (roles: string[]) => ({
    JIT_BROKER_URL: h.broker.url,
    JIT_BROKER_TOKEN: await h.operatorToken(roles),
  });
  const run = async (args: string[], roles = ['admin']) =>
    JSON.parse(
      (await runOperatorCli(['-o', 'json', ...args], { env: await env(roles) })).join('\n'),
    ) as Record<string, unknown>;

  beforeAll(async () => {
    h = await startHarness({
      listen: true,
      configure(raw) {
        raw.detections = [
          {
            name: 'hold',
            kind: 'scope_escalation',
            count: 1,
            window: '1m',
            actions: ['require_approval'],
          },
        ];
      },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it('shows the hold, refuses a viewer the release, and lifts it for an admin', async () => {
    expect(await run(['workloads', 'hold', 'agent-a'], ['viewer'])).toEqual({
      workload: 'agent-a',
      hold: null,
    });
    await h.request('/v1/credentials', {
      method: 'POST',
      token: await h.workloadToken('spiffe://test/agent-a'),
      json: {
        target: 'tickets',
        scope: { scopes: ['tickets:admin'] },
        task: { id: 'x', intent: 'triage' },
      },
    });
    expect(
      await eventually(
        async () => (await run(['workloads', 'hold', 'agent-a'], ['viewer'])).hold !== null,
      ),
    ).toBe(true);
    expect(await run(['workloads', 'hold', 'agent-a'], ['viewer'])).toMatchObject({
      hold: { rule: 'hold' },
    });
    await expect(run(['workloads', 'release', 'agent-a'], ['viewer'])).rejects.toThrow(
      /403 forbidden/,
    );
    expect(await run(['workloads', 'release', 'agent-a'])).toEqual({
      workload: 'agent-a',
      released: true,
    });
    expect((await run(['workloads', 'hold', 'agent-a'], ['viewer'])).hold).toBeNull();
  });
});
