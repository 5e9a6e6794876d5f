import { Agent, request } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/events/chain.js';
import type { BrokerEvent } from '../../src/events/types.js';
import { type SplunkHecFake, startSplunkHec } from '../fakes/splunk-hec.js';
import { startHarness } from '../helpers/broker-harness.js';
import { REDIS_URL, redisAvailable, requireService } from '../helpers/services.js';

/*
 * The red team's denial of issuance: one unauthenticated client floods bad tokens at a
 * broker whose `required` Splunk HEC sink acknowledges slowly (the README's production
 * setup), while a workload keeps asking for credentials. Every refusal used to queue an
 * `auth.failed` event ahead of the issuance events and add an entry to the Redis stream.
 */

const HEC_TOKEN = 'hec-token-flood-5b1e0c7d2a94';
/** An indexer that takes its time: each acknowledged batch costs about a second. */
const ACK_DELAY_MS = 1_000;
/** `events.redis_stream.max_entries` for this broker: a tenth of the flood. */
const STREAM_CAP = 500;
const FLOOD_REQUESTS = 6_000;
const FLOOD_MS = 5_000;
const CONCURRENCY = 48;
/** The workload asks for a credential this often while the flood lasts (25 in all). */
const ISSUE_EVERY_MS = FLOOD_MS / 25;
const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'flood-1', intent: 'triage' },
};

let available = false;
let hec: SplunkHecFake;
let redis: Redis;

beforeAll(async () => {
  available = await requireService('redis', await redisAvailable());
  if (!available) return;
  redis = new Redis(REDIS_URL);
  hec = await startSplunkHec({ token: HEC_TOKEN, ack: true, ackDelayMs: ACK_DELAY_MS });
});

afterAll(async () => {
  if (!available) return;
  await hec.close();
  await redis.quit();
});

/** One POST over a kept-alive socket; resolves with the status (0 if the request failed). */
function post(agent: Agent, url: URL, token: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

describe('a flood of bad tokens against a slow required SIEM', () => {
  it('does not deny issuance, is counted in full, and leaves the stream within its cap', async (ctx) => {
    if (!available) return ctx.skip();
    const h = await startHarness({
      store: 'redis',
      listen: true,
      reaper: false,
      configure(raw) {
        const events = raw.events as Record<string, unknown>;
        // The test reads what Splunk and Redis hold; capturing stdout would only cost CPU.
        events.stdout = { enabled: false };
        events.redis_stream = { enabled: true, stream: 'events', max_entries: STREAM_CAP };
        events.http = [
          {
            name: 'splunk',
            kind: 'splunk_hec',
            url: hec.url,
            token: HEC_TOKEN,
            mode: 'required',
            hec: { ack: true, ack_timeout: '3s' },
          },
        ];
      },
    });
    const streamKey = `${h.config.redis.key_prefix}:events`;
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY + 4 });
    const credentials = new URL('/v1/credentials', h.broker.url);
    const body = JSON.stringify(REQUEST);
    let closed = false;
    try {
      const workloadToken = await h.workloadToken('spiffe://test/agent-a');
      const started = Date.now();
      const deadline = started + FLOOD_MS;
      let sent = 0;
      const refusals: number[] = [];

      const flooder = async () => {
        while (sent < FLOOD_REQUESTS && Date.now() < deadline) {
          sent += 1;
          refusals.push(await post(agent, credentials, `not-a-jwt-${sent}`, body));
        }
      };
      const issuing: Promise<number>[] = [];
      let slowestIssuanceMs = 0;
      const issue = async () => {
        const asked = Date.now();
        const status = await post(agent, credentials, workloadToken, body);
        slowestIssuanceMs = Math.max(slowestIssuanceMs, Date.now() - asked);
        return status;
      };
      const cadence = setInterval(() => {
        if (Date.now() < deadline) issuing.push(issue());
      }, ISSUE_EVERY_MS);
      await Promise.all(Array.from({ length: CONCURRENCY }, flooder));
      const floodMs = Date.now() - started;
      clearInterval(cadence);
      const issuances = await Promise.all(issuing);

      const streamLength = await redis.xlen(streamKey);
      // Closing flushes what is still held back, so Splunk then has every count.
      closed = true;
      await h.close();
      const unauthorized = refusals.filter((status) => status === 401).length;
      const delivered = new Map<number, BrokerEvent>();
      for (const event of hec.events as BrokerEvent[]) delivered.set(event.seq, event);
      const chain = [...delivered.values()].sort((a, b) => a.seq - b.seq);
      const refusalEvents = chain.filter((event) => event.type === 'auth.failed');
      const counted = refusalEvents.reduce(
        (sum, event) => sum + (typeof event.detail?.count === 'number' ? event.detail.count : 1),
        0,
      );
      const ok = issuances.filter((status) => status === 201).length;
      console.info(
        `flood: ${sent} bad-token requests in ${floodMs} ms (${Math.round((sent * 1000) / floodMs)}/s), ` +
          `${unauthorized} answered 401; issuances ${ok}/${issuances.length} ok ` +
          `(${issuances.filter((status) => status === 503).length} answered 503, slowest ${slowestIssuanceMs} ms); ` +
          `stream length ${streamLength}; ${refusalEvents.length} auth.failed events counting ${counted} refusals; ` +
          `${chain.length} events reached Splunk`,
      );

      expect(sent).toBeGreaterThanOrEqual(500);
      expect(unauthorized).toBe(sent);
      expect(issuances.length).toBeGreaterThan(0);
      expect(issuances.every((status) => status === 201)).toBe(true);
      // Every refusal is accounted for: an event of its own or a summary's count.
      expect(counted).toBe(unauthorized);
      const metered = (await h.broker.metrics.authFailures.get()).values;
      expect(metered.reduce((sum, { value }) => sum + value, 0)).toBe(unauthorized);
      expect(refusalEvents.length).toBeLessThan(unauthorized / 10);
      expect(streamLength).toBeLessThanOrEqual(STREAM_CAP);
      // What Splunk holds is one unbroken chain: nothing chained was dropped on the way.
      expect(verifyChain(chain, h.broker.events.publicKeyJwk)).toEqual({ ok: true });
    } finally {
      agent.destroy();
      if (!closed) await h.close();
    }
  }, 60_000);
});
