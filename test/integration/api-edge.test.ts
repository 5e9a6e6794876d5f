import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';

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
