import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../../src/events/types.js';
import { type Harness, sleep, startHarness } from '../helpers/broker-harness.js';
import { eventually } from '../helpers/lease-http.js';
import { redisAvailable, requireService } from '../helpers/services.js';

/*
 * Two replicas on one Redis: each evaluates only the events it emits, and the counters they
 * share make events from both count toward one threshold, with one firing between them.
 */

const ready = await requireService('redis', await redisAvailable());

const RULES = [
  {
    name: 'burst',
    kind: 'denial_burst',
    count: 4,
    window: '1m',
    cooldown: '10m',
    actions: ['alert'],
  },
];

describe.skipIf(!ready)('detections across replicas', () => {
  let one: Harness;
  let two: Harness;
  beforeAll(async () => {
    one = await startHarness({
      store: 'redis',
      configure(raw) {
        raw.detections = RULES;
      },
    });
    two = await startHarness({
      store: 'redis',
      configure(raw) {
        raw.detections = RULES;
        // The same Redis keys and the same workload issuer keys as the first replica.
        (raw.redis as Record<string, unknown>).key_prefix = one.config.redis.key_prefix;
        const issuer = (raw.issuers as Record<string, unknown>[])[0] as Record<string, unknown>;
        issuer.jwks_file = one.config.issuers[0]?.jwks_file;
      },
    });
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  const fired = async (h: Harness) =>
    (await h.flushedEvents()).filter((e: BrokerEvent) => e.type === 'detection.fired');

  it('counts denials from both replicas toward one threshold and fires once', async () => {
    const agent = await one.workloadToken('spiffe://test/agent-a');
    const deny = (h: Harness, id: string) =>
      h.request('/v1/credentials', {
        method: 'POST',
        token: agent,
        json: {
          target: 'tickets',
          scope: { scopes: ['tickets:admin'] },
          task: { id, intent: 'triage' },
        },
      });
    expect((await deny(one, 'a1')).status).toBe(403);
    expect((await deny(two, 'b1')).status).toBe(403);
    expect((await deny(one, 'a2')).status).toBe(403);
    // Three denials: neither replica alone, nor both together yet, reach four.
    await sleep(200);
    expect([...(await fired(one)), ...(await fired(two))]).toHaveLength(0);
    expect((await deny(two, 'b2')).status).toBe(403);
    expect(
      await eventually(async () => (await fired(one)).length + (await fired(two)).length === 1),
    ).toBe(true);
    const [fire] = await fired(two);
    // The replica whose event crossed the threshold fired, with evidence from both chains.
    const detail = fire?.detail as { events: { instance: string }[]; evidence: { count: number } };
    expect(detail.evidence.count).toBe(4);
    expect(new Set(detail.events.map((e) => e.instance)).size).toBe(2);
    // More denials on either replica fall within the shared cool-down.
    await deny(one, 'a3');
    await deny(two, 'b3');
    await sleep(300);
    expect((await fired(one)).length + (await fired(two)).length).toBe(1);
  });
});
