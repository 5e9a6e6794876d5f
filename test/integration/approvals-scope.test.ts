import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';

/**
 * An approval rule keyed on scope, over HTTP: `beyond` is a ceiling in the target provider's
 * own terms, and a request whose scope is not within it waits for a human (202) while one
 * inside it is issued at once. `policy simulate` gives the same answer.
 */
const POLICY = {
  name: 'comments-need-approval',
  workloads: ['agent-a'],
  target: 'tickets',
  allow: { scopes: ['tickets:read', 'tickets:comment'] },
  intents: ['respond'],
  default_ttl: '5m',
  max_ttl: '15m',
  approval: { beyond: { scopes: ['tickets:read'] } },
};

const read = (id: string) => ({
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id, intent: 'respond' },
});
const comment = (id: string) => ({
  target: 'tickets',
  scope: { scopes: ['tickets:read', 'tickets:comment'] },
  task: { id, intent: 'respond' },
});

describe('approval beyond a scope ceiling', () => {
  let h: Harness;
  let agent: string;
  let admin: string;

  beforeAll(async () => {
    h = await startHarness({
      store: 'memory',
      configure: (raw) => {
        (raw.policies as unknown[]).unshift(POLICY);
      },
    });
    agent = await h.workloadToken('spiffe://test/agent-a');
    admin = await h.operatorToken(['admin']);
  });
  afterAll(async () => {
    await h?.close();
  });

  const ask = (body: unknown) =>
    h.request('/v1/credentials', { method: 'POST', token: agent, json: body });
  const simulate = async (body: object) => {
    const res = await h.request('/v1/policy/simulate', {
      method: 'POST',
      token: admin,
      json: { workload: 'agent-a', ...body },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { allow: boolean; policy: string; approval?: unknown };
  };

  it('a read scope inside beyond is issued at once', async () => {
    const res = await ask(read('scope-read'));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ lease_id: expect.any(String) });
  });

  it('a write scope beyond it waits for an approver (202)', async () => {
    const res = await ask(comment('scope-comment'));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'pending' });
  });

  it('policy simulate says which of the two would wait, and by which rule', async () => {
    expect(await simulate(read('sim-read'))).toMatchObject({
      allow: true,
      policy: 'comments-need-approval',
      approval: { required: false },
    });
    const held = await simulate(comment('sim-comment'));
    expect(held).toMatchObject({
      allow: true,
      policy: 'comments-need-approval',
      approval: { required: true, rule: { beyond: { scopes: ['tickets:read'] } } },
    });
  });
});

describe('a beyond the provider cannot read', () => {
  it('is refused at load, named by policy and field', async () => {
    let issues: readonly string[] = [];
    try {
      const h = await startHarness({
        store: 'memory',
        configure: (raw) => {
          (raw.policies as unknown[]).unshift({
            ...POLICY,
            approval: { beyond: { scopes: 'tickets:read', bogus: true } },
          });
        },
      });
      await h.close();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issues = err.issues;
    }
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.join('\n')).toMatch(
      /comments-need-approval.*approval\.beyond.*not a valid ceiling/,
    );
  });
});
