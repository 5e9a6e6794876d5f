import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';

const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'freeze-1', intent: 'triage' },
};

describe('who froze issuance', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('GET /v1/freeze answers who, when and why; the 503 says since when, not who or why', async () => {
    const admin = await h.operatorToken(['admin'], 'carol@example.com');
    const viewer = await h.operatorToken(['viewer']);
    expect(await (await h.request('/v1/freeze', { token: viewer })).json()).toEqual({
      frozen: false,
    });

    const before = Date.now();
    const frozen = await h.request('/v1/freeze', {
      method: 'POST',
      token: admin,
      json: { reason: 'suspected token leak' },
    });
    expect(frozen.status).toBe(200);
    const record = (await frozen.json()) as { at: string };
    expect(record).toEqual({
      frozen: true,
      by: 'carol@example.com',
      at: expect.any(String),
      reason: 'suspected token leak',
    });
    expect(Date.parse(record.at)).toBeGreaterThanOrEqual(before - 1_000);
    expect(await (await h.request('/v1/freeze', { token: viewer })).json()).toEqual(record);

    const refused = await h.request('/v1/credentials', {
      method: 'POST',
      token: await h.workloadToken('spiffe://test/agent-a'),
      json: REQUEST,
    });
    expect(refused.status).toBe(503);
    const problem = (await refused.json()) as { code: string; detail: string };
    expect(problem.code).toBe('issuance_frozen');
    expect(problem.detail).toBe(`issuance is frozen by an operator since ${record.at}`);
    // Who and why are for operators: a workload learns neither.
    expect(problem.detail).not.toContain('carol');
    expect(problem.detail).not.toContain('leak');

    const resumed = await h.request('/v1/freeze', { method: 'DELETE', token: admin });
    expect(await resumed.json()).toEqual({ frozen: false });
    expect(await (await h.request('/v1/freeze', { token: viewer })).json()).toEqual({
      frozen: false,
    });
  });

  it('a break-glass freeze is recorded as break-glass, never as a person', async () => {
    const res = await h.request('/v1/freeze', {
      method: 'POST',
      token: h.breakGlass.token,
      json: { reason: 'drill' },
    });
    expect(await res.json()).toMatchObject({
      frozen: true,
      by: expect.stringMatching(/^break-glass:/),
    });
    await h.request('/v1/freeze', { method: 'DELETE', token: h.breakGlass.token });
  });
});
