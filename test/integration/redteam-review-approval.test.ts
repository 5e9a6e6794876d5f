import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/config/schema.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';

/*
 * review_by against the approvals flow: an approval an operator granted while the workload was
 * within its review date does not carry a credential past it. Collecting the approved request
 * after the deadline (here: after a reload moved it into the past) is refused like any other
 * issuance.
 */

const DAY = 86_400_000;
const day = (offsetDays: number) =>
  new Date(Date.now() + offsetDays * DAY).toISOString().slice(0, 10);

const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'review-approval-1', intent: 'escalate' },
};

describe('review_by and an approval collected after it', () => {
  let h: Harness;
  let agent: string;
  let approver: string;

  beforeAll(async () => {
    h = await startHarness({
      configure(raw) {
        (raw.policies as unknown[]).push({
          name: 'escalations-need-approval',
          workloads: ['agent-a'],
          target: 'tickets',
          allow: { scopes: ['tickets:read'] },
          intents: ['escalate'],
          default_ttl: '5m',
          max_ttl: '15m',
          approval: { required: true, expires_after: '10m' },
        });
        const workloads = raw.workloads as Record<string, unknown>[];
        (workloads[0] as Record<string, unknown>).review_by = day(30);
      },
    });
    agent = await h.workloadToken('spiffe://test/agent-a');
    approver = await h.operatorToken(['approver'], 'bob@example.com');
  });
  afterAll(async () => {
    await h?.close();
  });

  const ask = () => h.request('/v1/credentials', { method: 'POST', token: agent, json: REQUEST });

  it('an approval granted before the deadline is refused when collected after it, and served again once the date moves', async () => {
    const first = await ask();
    expect(first.status).toBe(202);
    const { approval_id } = (await first.json()) as { approval_id: string };
    const approved = await h.request(`/v1/approvals/${approval_id}/approve`, {
      method: 'POST',
      token: approver,
      json: { reason: 'on call ok' },
    });
    expect(approved.status).toBe(200);

    const original = h.config;
    const overdue: BrokerConfig = {
      ...original,
      workloads: original.workloads.map((w) =>
        w.id === 'agent-a' ? { ...w, review_by: day(-1) } : w,
      ),
    };
    h.broker.reload(overdue);
    try {
      const late = await ask();
      expect(late.status).toBe(403);
      const body = (await late.json()) as { code: string; credential?: unknown };
      expect(body.code).toBe('workload_review_overdue');
      expect(body.credential).toBeUndefined();
    } finally {
      h.broker.reload(original);
    }
    // The owner moved the date: the same approved request is collected.
    const collected = await ask();
    expect(collected.status).toBe(201);
  });
});
