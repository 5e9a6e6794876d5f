import { createServer, type Server } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { generateBreakGlassToken } from '../../src/identity/break-glass.js';
import { createLogger } from '../../src/lib/logger.js';
import { startBroker } from '../../src/server.js';
import { startSplunkHec } from '../fakes/splunk-hec.js';
import { Capture, type Harness, sleep, startHarness } from '../helpers/broker-harness.js';
import { freePort } from '../helpers/free-port.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../helpers/services.js';

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

describe('behind a reverse proxy', () => {
  let h: Harness;
  let agent: string;

  beforeAll(async () => {
    h = await startHarness({
      listen: true,
      configure: (raw) => {
        Object.assign(raw.server as object, { trust_proxy: 1 });
        // Only the office may ask; the proxy appends the address it saw.
        for (const policy of raw.policies as Record<string, unknown>[]) {
          policy.when = "request.ip == '10.9.9.9'";
        }
      },
    });
    agent = await h.workloadToken('spiffe://test/agent-a');
  });
  afterAll(async () => {
    await h.close();
  });

  const ask = (forwarded: string, id: string) =>
    h.request('/v1/credentials', {
      method: 'POST',
      token: agent,
      headers: { 'x-forwarded-for': forwarded },
      json: {
        target: 'tickets',
        scope: { scopes: ['tickets:read'] },
        task: { id, intent: 'triage' },
      },
    });

  it('a client cannot choose its own request.ip by writing X-Forwarded-For', async () => {
    // The client wrote the office address; the proxy appended the client's real one.
    const spoofed = await ask('10.9.9.9, 203.0.113.9', 'xff-1');
    expect(spoofed.status).toBe(403);
    const events = await h.flushedEvents();
    const denial = events.filter((e) => e.type === 'credential.denied').at(-1);
    expect(denial?.source_ip).toBe('203.0.113.9');
    // From the office, through the proxy: allowed.
    expect((await ask('10.9.9.9', 'xff-2')).status).toBe(201);
  });
});

describe('oversized headers', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ listen: true });
  });
  afterAll(async () => {
    await h.close();
  });

  it("an Authorization header over the broker's own limit is a 401 with an auth.failed event", async () => {
    const res = await h.request('/v1/leases', { token: 'x'.repeat(20_001) });
    expect(res.status).toBe(401);
    const events = await h.flushedEvents();
    expect(events.filter((e) => e.type === 'auth.failed').at(-1)?.reason).toBe('too_large');
  });

  it('headers beyond what the HTTP server reads at all are a 431, before the broker', async () => {
    const res = await h.request('/v1/leases', { token: 'x'.repeat(70 * 1024) });
    expect(res.status).toBe(431);
  });
});

describe('readiness', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('anonymous callers get a bare status; operators get the checks', async () => {
    const anonymous = await h.request('/readyz');
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({ status: 'ready' });
    const detail = await h.request('/v1/readiness', { token: await h.operatorToken(['viewer']) });
    expect(detail.status).toBe(200);
    expect(await detail.json()).toMatchObject({
      status: 'ready',
      checks: { lease_store: { ok: true }, 'target:tickets': { ok: true } },
    });
  });
});

describe('a start that fails', () => {
  let blocker: Server;
  let port: number;

  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    port = (blocker.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  });

  /** Starts a broker on `server` that must fail with `error`, and checks the audit trail. */
  async function failedStartWritesNothing(server: Record<string, unknown>, error: RegExp) {
    const prefix = uniquePrefix('genesis');
    const events = new Capture();
    const config = configSchema.parse({
      server: { host: '127.0.0.1', ...server },
      redis: { url: REDIS_URL, key_prefix: prefix },
      issuers: [],
      workloads: [],
      targets: [],
      policies: [],
      events: { stdout: { enabled: true }, redis_stream: { enabled: true, stream: 'events' } },
      encryption: { keys: [{ id: 'k1', key: Buffer.alloc(32, 7).toString('base64') }] },
    });
    const redis = new Redis(REDIS_URL);
    try {
      await expect(
        startBroker({
          config,
          store: 'redis',
          logger: createLogger({ level: 'error', destination: new Capture() }),
          eventsOut: events,
          listen: true,
          reaper: false,
        }),
      ).rejects.toThrow(error);
      expect(events.text).not.toContain('chain.genesis');
      expect(await redis.xlen(`${prefix}:events`)).toBe(0);
    } finally {
      await deletePrefix(redis, `${prefix}:`);
      redis.disconnect();
    }
  }

  it('writes no chain genesis when a TLS file named by the configuration cannot be read', async () => {
    await failedStartWritesNothing(
      { port: 0, tls: { cert: '/nonexistent/tls.crt', key: '/nonexistent/tls.key' } },
      /ENOENT/,
    );
  });

  it('writes no chain genesis when the port is in use', async () => {
    await failedStartWritesNothing({ port }, /EADDRINUSE/);
  });

  it('answers a request that arrived while the chain was starting with 503 when the start fails, and does not hang', async () => {
    // A required collector that acknowledges too late: the genesis is not taken in time.
    const hec = await startSplunkHec({
      token: 'hec-token-4d7a1c2e9b8f0a3d',
      ack: true,
      ackDelayMs: 10_000,
    });
    const port = await freePort();
    try {
      const starting = startHarness({
        listen: true,
        configure: (raw) => {
          Object.assign(raw.server as object, { port });
          (raw.events as Record<string, unknown>).http = [
            {
              name: 'splunk',
              kind: 'splunk_hec',
              url: hec.url,
              token: 'hec-token-4d7a1c2e9b8f0a3d',
              mode: 'required',
              hec: { ack: true, ack_timeout: '1s' },
            },
          ];
        },
      });
      const outcome = starting.then(
        async (h) => {
          await h.close();
          return 'started';
        },
        (err: Error) => err.message,
      );
      await sleep(300);
      const early = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      expect(await outcome).toMatch(/audit sink splunk is unavailable/);
      // The early request was held until the start failed, then refused; never served.
      expect(early?.status).toBe(503);
    } finally {
      await hec.close();
    }
  }, 20_000);
});
