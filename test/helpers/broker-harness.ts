import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { type CryptoKey, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { generateDevKey } from '../../providers/jwt/dev-key.js';
import { type BrokerConfig, configSchema } from '../../src/config/schema.js';
import type { BrokerEvent } from '../../src/events/types.js';
import { generateBreakGlassToken } from '../../src/identity/break-glass.js';
import { createLogger } from '../../src/lib/logger.js';
import { type RunningBroker, startBroker } from '../../src/server.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from './services.js';

export const WORKLOAD_ISSUER = 'https://issuer.test.example';
export const OPERATOR_ISSUER = 'https://operators.test.example';

/** Collects everything written to it: the test's view of stdout events or log lines. */
export class Capture extends Writable {
  readonly chunks: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk.toString('utf8'));
    cb();
  }
  get text(): string {
    return this.chunks.join('');
  }
  get events(): BrokerEvent[] {
    return this.text
      .split('\n')
      .filter((l) => l.trim().startsWith('{'))
      .map((l) => JSON.parse(l) as BrokerEvent);
  }
}

export interface Harness {
  broker: RunningBroker;
  config: BrokerConfig;
  events: Capture;
  logs: Capture;
  /** A workload identity token (signed by the test issuer). */
  workloadToken(
    subject: string,
    claims?: JWTPayload,
    options?: { expiresIn?: string | number; audience?: string },
  ): Promise<string>;
  operatorToken(roles: string[], subject?: string, expiresIn?: string | number): Promise<string>;
  breakGlass: { token: string; role: 'admin' };
  /** Every event emitted so far, after the bus has delivered what it holds. */
  flushedEvents(): Promise<BrokerEvent[]>;
  /** `fetch` against the in-process app, or the real socket when `listen` was set. */
  request(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  store?: 'memory' | 'redis';
  listen?: boolean;
  reaper?: boolean;
  /** Load `provider: module` targets (test fixtures). */
  allowProviderModules?: boolean;
  /** Patch the generated config (workloads, policies, targets, leases…). */
  configure?: (raw: Record<string, unknown>) => void;
}

/**
 * A complete broker (real identity verification with test-generated keys, real policy,
 * jwt provider, event bus, lease store) for integration tests over HTTP.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'jit-harness-'));
  const workloadKeys = await generateKeyPair('ES256');
  const operatorKeys = await generateKeyPair('ES256');
  const jwk = async (key: CryptoKey, kid: string) => ({
    ...(await exportJWK(key)),
    kid,
    alg: 'ES256',
    use: 'sig',
  });
  writeFileSync(
    join(dir, 'workload-jwks.json'),
    JSON.stringify({ keys: [await jwk(workloadKeys.publicKey, 'w1')] }),
  );
  writeFileSync(
    join(dir, 'operator-jwks.json'),
    JSON.stringify({ keys: [await jwk(operatorKeys.publicKey, 'o1')] }),
  );
  const breakGlass = generateBreakGlassToken();
  const prefix = uniquePrefix('h');

  const raw: Record<string, unknown> = {
    server: { host: '127.0.0.1', port: 0, public_url: 'https://broker.test.example' },
    redis: { url: REDIS_URL, key_prefix: prefix },
    issuers: [
      {
        name: 'test',
        issuer: WORKLOAD_ISSUER,
        audience: 'jit-broker',
        jwks_file: join(dir, 'workload-jwks.json'),
        algorithms: ['ES256'],
      },
    ],
    workloads: [
      {
        id: 'agent-a',
        issuer: 'test',
        subject: 'spiffe://test/agent-a',
        tier: 'write',
        max_active_leases: 5000,
      },
      { id: 'agent-b', issuer: 'test', subject: 'spiffe://test/agent-b', tier: 'write' },
      { id: 'tickets-api', issuer: 'test', subject: 'spiffe://test/tickets-api', tier: 'read' },
    ],
    targets: [
      {
        name: 'tickets',
        provider: 'jwt',
        audience: 'https://tickets.test.example',
        keys: [{ kid: 'k1', private_key: await generateDevKey(), state: 'active' }],
        resource_servers: ['tickets-api'],
      },
    ],
    policies: [
      {
        name: 'agents-read-tickets',
        workloads: ['agent-a', 'agent-b'],
        target: 'tickets',
        allow: { scopes: ['tickets:read', 'tickets:comment'] },
        intents: ['triage'],
        default_ttl: '5m',
        max_ttl: '15m',
      },
    ],
    operators: {
      issuers: [
        {
          name: 'ops',
          issuer: OPERATOR_ISSUER,
          audience: 'jit-broker-operators',
          jwks_file: join(dir, 'operator-jwks.json'),
          algorithms: ['ES256'],
        },
      ],
      break_glass: [
        {
          name: 'oncall',
          hash: breakGlass.hash,
          role: 'admin',
          expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        },
      ],
    },
    events: {
      stdout: { enabled: true },
      redis_stream: { enabled: options.store === 'redis', stream: 'events' },
    },
    encryption: { keys: [{ id: 'k1', key: Buffer.alloc(32, 7).toString('base64') }] },
    leases: {
      reaper: { interval: '100ms', claim_timeout: '5s', backoff_base: '50ms', backoff_max: '1s' },
      retention: '1h',
    },
  };
  options.configure?.(raw);
  const config = configSchema.parse(raw);
  const events = new Capture();
  const logs = new Capture();
  const broker = await startBroker({
    config,
    store: options.store ?? 'memory',
    logger: createLogger({ level: 'debug', destination: logs }),
    eventsOut: events,
    listen: options.listen ?? false,
    reaper: options.reaper ?? true,
    allowProviderModules: options.allowProviderModules ?? false,
  });

  const sign = (
    key: CryptoKey,
    kid: string,
    iss: string,
    aud: string,
    sub: string,
    claims: JWTPayload,
    exp: string | number,
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer(iss)
      .setAudience(aud)
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(key);

  return {
    broker,
    config,
    events,
    logs,
    breakGlass: { token: breakGlass.token, role: 'admin' },
    async flushedEvents() {
      await broker.events.flush();
      return events.events;
    },
    workloadToken: (subject, claims = {}, o = {}) =>
      sign(
        workloadKeys.privateKey,
        'w1',
        WORKLOAD_ISSUER,
        o.audience ?? 'jit-broker',
        subject,
        claims,
        o.expiresIn ?? '10m',
      ),
    operatorToken: (roles, subject = 'alice@example.com', expiresIn = '10m') =>
      sign(
        operatorKeys.privateKey,
        'o1',
        OPERATOR_ISSUER,
        'jit-broker-operators',
        subject,
        { roles },
        expiresIn,
      ),
    async request(path, init = {}) {
      const headers = new Headers(init.headers);
      if (init.token !== undefined) headers.set('authorization', `Bearer ${init.token}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      const { token: _t, json: _j, ...rest } = init;
      const req = { ...rest, headers, ...(body === undefined ? {} : { body }) };
      if (options.listen) return fetch(`${broker.url}${path}`, req);
      return broker.app.request(path, req);
    },
    async close() {
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
      if (options.store === 'redis') {
        const redis = new Redis(REDIS_URL);
        await deletePrefix(redis, `${prefix}:`);
        redis.disconnect();
      }
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
