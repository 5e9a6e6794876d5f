import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateBreakGlassToken } from '../../src/identity/break-glass.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';

/** Input that used to break the process, and guesses that used to lock operators out. */
describe('hardening over HTTP', () => {
  let h: Harness;
  let agent: string;
  let revoker: string;

  beforeAll(async () => {
    h = await startHarness();
    agent = await h.workloadToken('spiffe://test/agent-a');
    revoker = await h.operatorToken(['revoker']);
  });
  afterAll(async () => {
    await h.close();
  });

  it('a task.context nested 25,000 deep is a 422 naming the field, not a 500', async () => {
    // Written as text: JSON.stringify itself cannot go this deep.
    const nested = `${'['.repeat(25_000)}${']'.repeat(25_000)}`;
    const res = await h.request('/v1/credentials', {
      method: 'POST',
      token: agent,
      headers: { 'content-type': 'application/json' },
      body: `{"target":"tickets","scope":{"scopes":["tickets:read"]},"task":{"id":"deep-1","intent":"triage","context":{"nested":${nested}}}}`,
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as {
      code: string;
      errors: { path: string; message: string }[];
    };
    expect(body.code).toBe('invalid_request');
    expect(body.errors[0]?.path).toBe('task.context');
    expect(body.errors[0]?.message).toContain('deeper than');
    // A context within bounds still issues.
    const fine = await h.request('/v1/credentials', {
      method: 'POST',
      token: agent,
      json: {
        target: 'tickets',
        scope: { scopes: ['tickets:read'] },
        task: { id: 'deep-2', intent: 'triage', context: { ticket: { id: 7, labels: ['a'] } } },
      },
    });
    expect(fine.status).toBe(201);
  });

  it('a pathological subject glob in a selector revoke answers at once', async () => {
    // Backtracking matching took seconds for this pattern; the test's timeout catches that.
    const res = await h.request('/v1/revoke', {
      method: 'POST',
      token: revoker,
      json: { subject: `${'*'.repeat(18)}!`, reason: 'glob drill' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ matched: 0 });
    const long = await h.request('/v1/revoke', {
      method: 'POST',
      token: revoker,
      json: { subject: `${'*'.repeat(511)}!`, reason: 'glob drill' },
    });
    expect(long.status).toBe(200);
  });

  it('ten break-glass guesses from one address do not lock the right token out', async () => {
    // In process every request comes from the same (unknown) address.
    for (let i = 0; i < 10; i++) {
      const guess = await h.request('/v1/workloads', {
        token: generateBreakGlassToken().token,
      });
      expect(guess.status).toBe(401);
    }
    const right = await h.request('/v1/workloads', { token: h.breakGlass.token });
    expect(right.status).toBe(200);
    const limited = await h.request('/v1/workloads', {
      token: generateBreakGlassToken().token,
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).not.toBeNull();
    expect(await limited.json()).toMatchObject({ code: 'rate_limited' });
    const events = await h.flushedEvents();
    const reasons = events.filter((e) => e.type === 'auth.failed').map((e) => e.reason);
    expect(reasons).toContain('break_glass_limited');
  });
});
