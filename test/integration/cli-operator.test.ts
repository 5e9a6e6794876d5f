import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/operator.js';
import type { BrokerConfig } from '../../src/config/schema.js';
import { type Harness, sleep, startHarness } from '../helpers/broker-harness.js';
import { runOperatorCli } from '../helpers/operator-cli.js';

describe('operator CLI against a live broker', () => {
  let h: Harness;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    h = await startHarness({
      listen: true,
      configure: (raw) => {
        (raw.leases as Record<string, unknown>).reaper = {
          interval: '50ms',
          max_attempts: 1,
          backoff_base: '20ms',
          backoff_max: '10s',
        };
      },
    });
    env = { JIT_BROKER_URL: h.broker.url, JIT_BROKER_TOKEN: await h.operatorToken(['admin']) };
  });
  afterAll(async () => {
    await h.close();
  });

  const run = (args: string[], withEnv = env, input = '') =>
    runOperatorCli(args, { env: withEnv, read: async () => input });
  const simulateTickets = (scope: string) => [
    ...['-o', 'json', 'policy', 'simulate', '--workload', 'agent-a', '--target', 'tickets'],
    ...['--scope', scope, '--intent', 'triage'],
  ];

  it('policy simulate answers what the broker would decide', async () => {
    const allowed = JSON.parse(
      (await run(simulateTickets('{"scopes":["tickets:read"]}'))).join('\n'),
    ) as { allow: boolean; policy?: string };
    expect(allowed.allow).toBe(true);
    // A denial is printed, then exits 1 (see test/integration/policy-simulate-cli.test.ts).
    await expect(run(simulateTickets('{"scopes":["tickets:delete"]}'))).rejects.toMatchObject({
      exitCode: 1,
    });
    await expect(
      run([
        'policy',
        'simulate',
        '--workload',
        'a',
        '--target',
        't',
        '--scope',
        '{x',
        '--intent',
        'i',
      ]),
    ).rejects.toThrow(/--scope is not valid JSON/);
  });

  it('events verify proves an exported chain, and finds an altered or dropped event', async () => {
    const agent = await h.workloadToken('spiffe://test/agent-a');
    const issued = await h.request('/v1/credentials', {
      method: 'POST',
      token: agent,
      json: {
        target: 'tickets',
        scope: { scopes: ['tickets:read'] },
        task: { id: 'cli-verify', intent: 'triage' },
      },
    });
    expect(issued.status).toBe(201);
    await h.broker.events.flush();
    const exported = h.events.text;
    // The broker is still running: everything so far is signed, but no shutdown checkpoint.
    const trusting = ['events', 'verify', '--trust-embedded-key', '-'];
    await expect(run(trusting, env, exported)).rejects.toMatchObject({ exitCode: 3 });

    const lines = exported.split('\n').filter((l) => l.trim() !== '');
    const victim = lines.findIndex((l) => l.includes('"type":"credential.issued"'));
    expect(victim).toBeGreaterThan(0);
    const altered = [...lines];
    altered[victim] = (altered[victim] ?? '').replace('"agent-a"', '"agent-b"');
    await expect(run(trusting, env, altered.join('\n'))).rejects.toThrow(/does not verify/);
    const dropped = lines.filter((_, i) => i !== victim).join('\n');
    await expect(run(trusting, env, dropped)).rejects.toThrow(/does not verify/);
  });

  it('lists revoke_failed leases and retries one', async () => {
    const agent = await h.workloadToken('spiffe://test/agent-a');
    const issued = (await (
      await h.request('/v1/credentials', {
        method: 'POST',
        token: agent,
        json: {
          target: 'tickets',
          scope: { scopes: ['tickets:read'] },
          task: { id: 'cli-1', intent: 'triage' },
        },
      })
    ).json()) as { lease_id: string };
    const original = h.broker.runtime().config;
    h.broker.reload({ ...original, targets: [], policies: [] } satisfies BrokerConfig);
    await h.request(`/v1/leases/${issued.lease_id}`, { method: 'DELETE', token: agent });
    let listed: string[] = [];
    for (let i = 0; i < 40; i += 1) {
      listed = await run(['leases', 'list', '--state', 'revoke_failed']);
      if (listed.some((l) => l.startsWith(issued.lease_id))) break;
      await sleep(50);
    }
    expect(listed[0]).toMatch(/^LEASE\s+WORKLOAD\s+TARGET\s+STATE/);
    expect(listed.find((l) => l.startsWith(issued.lease_id))).toMatch(
      /revoke_failed .*no longer configured/,
    );

    h.broker.reload(original);
    const retried = await run(['-o', 'json', 'leases', 'retry', issued.lease_id]);
    expect(JSON.parse(retried.join('\n'))).toEqual({ lease_id: issued.lease_id, state: 'revoked' });
    const json = JSON.parse(
      (await run(['leases', 'list', '--state', 'revoke_failed', '--json'])).join('\n'),
    ) as unknown[];
    expect(json).toEqual([]);
  });

  it('pulls the kill switch and says what went wrong without a token', async () => {
    const out = JSON.parse(
      (
        await run([
          '--output',
          'json',
          'workloads',
          'revoke',
          'agent-b',
          '--reason',
          'cli test',
          '--block',
        ])
      ).join('\n'),
    );
    expect(out).toMatchObject({ workload: 'agent-b', blocked: true, failed: 0 });
    await expect(
      run(['workloads', 'list'], { JIT_BROKER_URL: h.broker.url }),
    ).rejects.toBeInstanceOf(CliError);
    await expect(
      run(['workloads', 'unblock', 'agent-b'], {
        ...env,
        JIT_BROKER_TOKEN: await h.operatorToken(['viewer']),
      }),
    ).rejects.toThrow(/403 forbidden/);
  });
});
