import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/config/schema.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { type ProfileIssuers, profileIssuers } from '../helpers/profile-issuers.js';

/*
 * review_by on the OAuth grants that carry a workload's identity as a token rather than a
 * client assertion: RFC 8693 token exchange and RFC 7523 jwt-bearer. Each is served before the
 * deadline and refused after it, with no token in the answer.
 */

const DAY = 86_400_000;
const day = (offsetDays: number) =>
  new Date(Date.now() + offsetDays * DAY).toISOString().slice(0, 10);
const JWT = 'urn:ietf:params:oauth:token-type:jwt';

describe('review_by on token exchange and jwt-bearer', () => {
  let h: Harness;
  let issuers: ProfileIssuers;

  beforeAll(async () => {
    issuers = await profileIssuers();
    h = await startHarness({ configure: (raw) => issuers.configure(raw) });
  });
  afterAll(async () => {
    await h?.close();
    issuers?.remove();
  });

  const grants: [string, () => Promise<Record<string, string>>][] = [
    [
      'token exchange',
      async () => ({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: await issuers.svid(),
        subject_token_type: JWT,
      }),
    ],
    [
      'jwt-bearer',
      async () => ({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: await issuers.svid(),
      }),
    ],
  ];

  const post = async (fields: Record<string, string>, n: number) =>
    h.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        ...fields,
        audience: 'tickets',
        scope: 'tickets:read',
        task_id: `review-oauth-${n}`,
        task_intent: 'triage',
      }).toString(),
    });

  const withReviewBy = (config: BrokerConfig, reviewBy: string): BrokerConfig => ({
    ...config,
    workloads: config.workloads.map((w) =>
      w.id === 'svid-agent' ? { ...w, review_by: reviewBy } : w,
    ),
  });

  it('each grant is served before the deadline and refused after it', async () => {
    const original = h.config;
    let n = 0;
    h.broker.reload(withReviewBy(original, day(0)));
    try {
      for (const [name, fields] of grants) {
        const served = await post(await fields(), ++n);
        expect(served.status, name).toBe(200);
      }
      h.broker.reload(withReviewBy(original, day(-1)));
      for (const [name, fields] of grants) {
        const refused = await post(await fields(), ++n);
        expect(refused.status, name).toBe(400);
        const body = (await refused.json()) as { error: string; access_token?: string };
        expect(body.error, name).toBe('unauthorized_client');
        expect(body.access_token).toBeUndefined();
      }
    } finally {
      h.broker.reload(original);
    }
    const denied = (await h.flushedEvents()).filter(
      (e) => e.type === 'credential.denied' && e.reason === 'workload_review_overdue',
    );
    expect(denied).toHaveLength(grants.length);
  });
});
