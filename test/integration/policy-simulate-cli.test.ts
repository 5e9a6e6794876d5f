import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { runOperatorCli } from '../helpers/operator-cli.js';

describe('policy simulate exit codes: 0 allow, 1 deny, 2 error', () => {
  let h: Harness;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    h = await startHarness({ listen: true });
    env = { JIT_BROKER_URL: h.broker.url, JIT_BROKER_TOKEN: await h.operatorToken(['admin']) };
  });
  afterAll(async () => {
    await h.close();
  });

  async function simulate(
    scope: string,
    extra: string[] = [],
    withEnv = env,
  ): Promise<{ out: string[]; exitCode: number; message?: string }> {
    const out: string[] = [];
    const args = [
      '-o',
      'json',
      'policy',
      'simulate',
      '--workload',
      'agent-a',
      '--target',
      'tickets',
      '--scope',
      scope,
      '--intent',
      'triage',
      ...extra,
    ];
    try {
      await runOperatorCli(args, { env: withEnv, out });
      return { out, exitCode: 0 };
    } catch (err) {
      const { exitCode, message } = err as { exitCode?: number; message: string };
      return { out, exitCode: exitCode ?? -1, message };
    }
  }

  it('allow exits 0 with the decision printed (JSON scope)', async () => {
    const { out, exitCode } = await simulate('{"scopes":["tickets:read"]}');
    expect(exitCode).toBe(0);
    expect(JSON.parse(out.join('\n'))).toMatchObject({
      allow: true,
      policy: 'agents-read-tickets',
    });
  });

  it('accepts the scope-string syntax', async () => {
    const { out, exitCode } = await simulate('tickets:read tickets:comment');
    expect(exitCode).toBe(0);
    expect(JSON.parse(out.join('\n'))).toMatchObject({ allow: true });
  });

  it('deny exits 1, the decision and its reasons printed first', async () => {
    const { out, exitCode, message } = await simulate('tickets:delete');
    expect(exitCode).toBe(1);
    expect(message).toContain('scope_exceeds_ceiling');
    const printed = JSON.parse(out.join('\n')) as {
      allow: boolean;
      reasons: { policy?: string }[];
    };
    expect(printed.allow).toBe(false);
    expect(printed.reasons[0]?.policy).toBe('agents-read-tickets');
  });

  it('errors exit 2: a bad scope, an unknown workload, a broker that refuses the token', async () => {
    expect((await simulate('{x')).exitCode).toBe(2);
    expect((await simulate('a=')).exitCode).toBe(2);
    expect((await simulate('tickets:read', ['--workload', 'nobody'])).exitCode).toBe(2);
    expect(
      (await simulate('tickets:read', [], { ...env, JIT_BROKER_TOKEN: 'not-a-token' })).exitCode,
    ).toBe(2);
  });
});
