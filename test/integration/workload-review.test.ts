import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { BrokerConfig } from '../../src/config/schema.js';
import type { BrokerEvent } from '../../src/events/types.js';
import { reviewDeadline, reviewState } from '../../src/workloads/review-date.js';
import { reviewGate } from '../../src/workloads/review-gate.js';
import { RedisReviewNotices } from '../../src/workloads/review-notices.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { configIssues } from '../helpers/config-issues.js';
import { refusedCredential, requestTicketsRead } from '../helpers/lease-http.js';
import { suiteRedis } from '../helpers/suite-redis.js';

const DAY = 86_400_000;
const CLIENT_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const day = (offsetDays: number) =>
  new Date(Date.now() + offsetDays * DAY).toISOString().slice(0, 10);

describe('review_by: the boundary day', () => {
  const deadline = reviewDeadline('2027-03-10');

  it('serves the whole review_by day and refuses from the first millisecond after it (UTC)', () => {
    expect(new Date(deadline).toISOString()).toBe('2027-03-11T00:00:00.000Z');
    const w = { review_by: '2027-03-10' };
    expect(reviewState(w, deadline - 1, 0).state).toBe('current');
    expect(reviewState(w, deadline, 0).state).toBe('overdue');
    expect(reviewState(w, Date.parse('2027-03-10T00:00:00Z'), DAY).state).toBe('due');
  });

  it('warns within the lead time and not before it', () => {
    const w = { review_by: '2027-03-10' };
    expect(reviewState(w, deadline - 14 * DAY, 14 * DAY).state).toBe('due');
    expect(reviewState(w, deadline - 14 * DAY - 1, 14 * DAY).state).toBe('current');
    expect(reviewState({}, deadline + 100 * DAY, 14 * DAY).state).toBe('none');
  });

  it('config refuses a date that is not a calendar day, naming the workload and the field', () => {
    const yaml = (reviewBy: string, extra = '') => `
encryption:
  keys: [{ id: k1, key: "${Buffer.alloc(32, 1).toString('base64')}" }]
workloads:
  - { id: bot, issuer: x, subject: s, tier: read, review_by: ${reviewBy} }
${extra}`;
    expect(configIssues(() => parseConfig(yaml('2027-02-29')))).toContain(
      'workloads[bot].review_by: not a calendar date',
    );
    expect(configIssues(() => parseConfig(yaml('31/03/2027')))).toEqual([
      expect.stringContaining('workloads[bot].review_by: a date as YYYY-MM-DD'),
    ]);
    expect(configIssues(() => parseConfig(yaml('2027-03-31', 'review_warning: 366d')))).toEqual([
      expect.stringContaining('review_warning: at most 365d'),
    ]);
    // Unquoted, YAML leaves the date a string; a leap day that exists is a day.
    const ok = parseConfig(yaml('2028-02-29'));
    expect(ok.workloads[0]?.review_by).toBe('2028-02-29');
    expect(ok.review_warning).toBe(14 * DAY);
  });
});

describe('a workload past review_by is refused on every issuance path', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      configure(raw) {
        raw.resources = [{ uri: 'https://tickets.test.example', target: 'tickets' }];
        const workloads = raw.workloads as Record<string, unknown>[];
        // agent-b: its review day was yesterday; agent-a: today is its last day.
        (workloads[1] as Record<string, unknown>).review_by = day(-1);
        (workloads[1] as Record<string, unknown>).owner = 'team-b@example.com';
        (workloads[0] as Record<string, unknown>).review_by = day(0);
      },
    });
  });
  afterAll(() => h.close());

  it('POST /v1/credentials: 403 workload_review_overdue with a credential.denied event', async () => {
    const token = await h.workloadToken('spiffe://test/agent-b');
    const refused = await refusedCredential(h, token, {
      target: 'tickets',
      scope: { scopes: ['tickets:read'] },
      task: { id: 'overdue-1', intent: 'triage' },
    });
    expect(refused).toEqual({ status: 403, code: 'workload_review_overdue' });
    const denied = (await h.flushedEvents()).find(
      (e) => e.type === 'credential.denied' && e.workload === 'agent-b',
    );
    expect(denied?.reason).toBe('workload_review_overdue');
  });

  it('/oauth/token: unauthorized_client', async () => {
    const res = await h.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: CLIENT_ASSERTION,
        client_assertion: await h.workloadToken('spiffe://test/agent-b'),
        resource: 'https://tickets.test.example',
        scope: 'tickets:read',
        task_id: 'overdue-oauth',
        task_intent: 'triage',
      }).toString(),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; access_token?: string };
    expect(body.error).toBe('unauthorized_client');
    expect(body.access_token).toBeUndefined();
  });

  it('serves a workload on its review_by day, with one review warning', async () => {
    const token = await h.workloadToken('spiffe://test/agent-a');
    for (const id of ['due-1', 'due-2']) {
      const res = await requestTicketsRead(h, token, { id, intent: 'triage' });
      expect(res.status).toBe(201);
    }
    const warnings = (await h.flushedEvents()).filter(
      (e) => e.type === 'workload.review_due' && e.workload === 'agent-a',
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.detail).toMatchObject({ review_by: day(0) });
  });

  it('refuses the renewal of a lease once its workload is past review_by', async () => {
    const token = await h.workloadToken('spiffe://test/agent-a');
    const res = await requestTicketsRead(h, token, { id: 'renew-1', intent: 'triage' });
    const issued = (await res.json()) as { lease_id: string };
    const original = h.config;
    const overdue: BrokerConfig = {
      ...original,
      workloads: original.workloads.map((w) =>
        w.id === 'agent-a' ? { ...w, review_by: day(-2) } : w,
      ),
    };
    h.broker.reload(overdue);
    try {
      const renewed = await h.request(`/v1/leases/${issued.lease_id}/renew`, {
        method: 'POST',
        token,
        json: { ttl: 600 },
      });
      expect(renewed.status).toBe(403);
      expect(((await renewed.json()) as { code: string }).code).toBe('workload_review_overdue');
      const denied = (await h.flushedEvents()).find(
        (e) => e.type === 'credential.denied' && e.lease_id === issued.lease_id,
      );
      expect(denied?.detail).toMatchObject({ renewal: true });
    } finally {
      h.broker.reload(original);
    }
  });
});

describe('workload.review_due: once per workload per day across replicas (Redis)', () => {
  const suite = suiteRedis('review');
  const { prefix } = suite;

  it('two replicas racing on one day emit one warning; the next day emits another', async (ctx) => {
    const redis = suite.client(ctx);
    const reviewBy = '2027-03-10';
    const workload = {
      id: 'agent-r',
      issuer: 'test',
      subject: 's',
      tier: 'read' as const,
      max_active_leases: 10,
      review_by: reviewBy,
    };
    const emitted: BrokerEvent[] = [];
    // What reviewGate reads of a replica: its emitter, logger, runtime and markers.
    const replica = () => ({
      events: {
        emit: async (e: object) => {
          emitted.push(e as BrokerEvent);
        },
      },
      logger: { warn: () => undefined },
      runtime: () => ({ reviewWarningMs: 14 * DAY }),
      reviewNotices: new RedisReviewNotices(redis, prefix),
    });
    const first = Date.parse('2027-03-05T08:00:00Z');
    const replicas = [replica(), replica()];
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        reviewGate(replicas[i % 2] as never, workload, { workload: workload.id }, first + i),
      ),
    );
    expect(answers.every((a) => a === undefined)).toBe(true);
    expect(emitted.filter((e) => e.type === 'workload.review_due')).toHaveLength(1);
    await reviewGate(replicas[0] as never, workload, { workload: workload.id }, first + DAY);
    expect(emitted).toHaveLength(2);
    // Past the day: refused, and no warning.
    const overdue = await reviewGate(
      replicas[1] as never,
      workload,
      { workload: workload.id },
      reviewDeadline(reviewBy),
    );
    expect(overdue?.code).toBe('workload_review_overdue');
    expect(emitted).toHaveLength(2);
  });
});
