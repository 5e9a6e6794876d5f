import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { deletePrefix, REDIS_URL, redisAvailable, requireService } from '../helpers/services.js';

const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'edge-1', intent: 'triage' },
};
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

async function deniedSourceIp(h: Harness): Promise<string | undefined> {
  const res = await h.request('/v1/credentials', {
    method: 'POST',
    token: await h.workloadToken('spiffe://test/agent-a'),
    headers: { 'x-forwarded-for': '203.0.113.9' },
    json: { ...REQUEST, target: 'nope' },
  });
  const { request_id } = (await res.json()) as { request_id: string };
  return (await h.flushedEvents()).find((e) => e.request_id === request_id)?.source_ip;
}

describe('metrics token and proxy trust', () => {
  let plain: Harness;
  let proxied: Harness;

  beforeAll(async () => {
    plain = await startHarness({
      listen: true,
      configure: (raw) => Object.assign(raw.server as object, { metrics_token: METRICS_TOKEN }),
    });
    proxied = await startHarness({
      listen: true,
      configure: (raw) => Object.assign(raw.server as object, { trust_proxy: true }),
    });
  });
  afterAll(async () => {
    await plain.close();
    await proxied.close();
  });

  it('/metrics needs the configured bearer token', async () => {
    expect((await plain.request('/metrics')).status).toBe(401);
    expect(
      (await plain.request('/metrics', { token: 'wrong-token-0123456789abcdef' })).status,
    ).toBe(401);
    const ok = await plain.request('/metrics', { token: METRICS_TOKEN });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('jit_credentials_issued_total');
  });

  it('X-Forwarded-For is believed only behind a trusted proxy', async () => {
    expect(await deniedSourceIp(plain)).not.toBe('203.0.113.9');
    expect(await deniedSourceIp(proxied)).toBe('203.0.113.9');
  });
});

describe('SIEM lag on /metrics', () => {
  it('reports every consumer group of the event stream: undelivered and unacknowledged', async (ctx) => {
    if (!(await requireService('redis', await redisAvailable()))) return ctx.skip();
    const h = await startHarness({ store: 'redis' });
    const redis = new Redis(REDIS_URL);
    try {
      expect(h.config.events.redis_stream.enabled).toBe(true);
      const stream = `${h.config.redis.key_prefix}:${h.config.events.redis_stream.stream}`;
      const agent = await h.workloadToken('spiffe://test/agent-a');
      for (const id of ['lag-1', 'lag-2', 'lag-3']) {
        const res = await h.request('/v1/credentials', {
          method: 'POST',
          token: agent,
          json: {
            target: 'tickets',
            scope: { scopes: ['tickets:read'] },
            task: { id, intent: 'triage' },
          },
        });
        expect(res.status).toBe(201);
      }
      await h.broker.events.flush();
      const written = await redis.xlen(stream);
      expect(written).toBeGreaterThan(2);
      await redis.xgroup('CREATE', stream, 'siem', '0');
      await redis.xreadgroup('GROUP', 'siem', 'reader', 'COUNT', 2, 'STREAMS', stream, '>');
      const text = await (await h.request('/metrics')).text();
      expect(text).toContain(`jit_event_stream_pending{group="siem"} 2`);
      const lag = Number(/jit_event_stream_lag\{group="siem"\} (\d+)/.exec(text)?.[1]);
      expect(lag).toBeGreaterThanOrEqual(written - 2);
    } finally {
      redis.disconnect();
      await h.close();
      const cleanup = new Redis(REDIS_URL);
      await deletePrefix(cleanup, `${h.config.redis.key_prefix}:`);
      cleanup.disconnect();
    }
  });
});
