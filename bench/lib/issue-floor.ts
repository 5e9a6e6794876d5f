import { createHash, randomBytes } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import {
  type CryptoKey,
  createLocalJWKSet,
  generateKeyPair,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';

/**
 * The floor of issuance: the cheapest honest server doing the work no issuer of task-bound,
 * revocable credentials can skip, on the broker's own stack (Hono on @hono/node-server, jose,
 * ioredis). Per request: the workload token verified (ES256, issuer, audience, expiry) or
 * its SHA-256 found in a small cache of tokens already verified, one script writing the
 * lease, one ES256 signature of the credential, one script activating the lease, one XADD
 * of a hash-chained event, a JSON 201.
 */
export interface FloorOptions {
  redisUrl: string;
  prefix: string;
  workloadJwk: JWK;
  issuer: string;
  audience: string;
  /** Extra work between writing the lease and activating it (the PostgreSQL floor's mint). */
  mint?: (leaseId: string, expiresAt: number) => Promise<Record<string, unknown>>;
}

export interface RunningFloor {
  url: string;
  close(): Promise<void>;
}

const CREATE_LEASE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'pending', 'workload', ARGV[1], 'target', ARGV[2],
  'task', ARGV[3], 'scope', ARGV[4], 'created_at', ARGV[5], 'expires_at', ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[7])
redis.call('SADD', KEYS[3], ARGV[7])
return 1`;

const ACTIVATE_LEASE = `
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'active', 'handle', ARGV[1])
return 1`;

/** Tokens already verified, by SHA-256, until their expiry; bounded. */
class VerifiedTokens {
  readonly #byHash = new Map<string, { subject: string; exp: number }>();

  get(hash: string, nowSeconds: number): string | undefined {
    const hit = this.#byHash.get(hash);
    if (hit === undefined || hit.exp <= nowSeconds) return undefined;
    return hit.subject;
  }

  set(hash: string, subject: string, exp: number): void {
    if (this.#byHash.size >= 1024) this.#byHash.clear();
    this.#byHash.set(hash, { subject, exp });
  }
}

export async function startFloor(options: FloorOptions): Promise<RunningFloor> {
  const redis = new Redis(options.redisUrl, { enableAutoPipelining: true });
  redis.defineCommand('floorCreate', { numberOfKeys: 3, lua: CREATE_LEASE });
  redis.defineCommand('floorActivate', { numberOfKeys: 1, lua: ACTIVATE_LEASE });
  const call = redis as unknown as Record<
    'floorCreate' | 'floorActivate',
    (...args: (string | number)[]) => Promise<number>
  >;
  const keys = createLocalJWKSet({ keys: [options.workloadJwk] });
  const signing: CryptoKey = (await generateKeyPair('ES256')).privateKey;
  const verified = new VerifiedTokens();
  let chainHead = createHash('sha256').update('genesis').digest('hex');
  const p = options.prefix;

  const app = new Hono();
  app.post('/v1/credentials', async (c) => {
    const header = c.req.header('authorization') ?? '';
    if (!header.startsWith('Bearer ')) return c.json({ code: 'unauthenticated' }, 401);
    const token = header.slice('Bearer '.length);
    const body = (await c.req.json().catch(() => null)) as {
      target?: unknown;
      task?: { id?: unknown };
    } | null;
    if (typeof body?.target !== 'string' || typeof body.task?.id !== 'string') {
      return c.json({ code: 'invalid_request' }, 422);
    }
    const now = Date.now();
    const hash = createHash('sha256').update(token).digest('base64url');
    let subject = verified.get(hash, now / 1000);
    if (subject === undefined) {
      try {
        const { payload } = await jwtVerify(token, keys, {
          algorithms: ['ES256'],
          issuer: options.issuer,
          audience: options.audience,
          requiredClaims: ['sub', 'exp'],
        });
        subject = payload.sub ?? '';
        verified.set(hash, subject, payload.exp ?? 0);
      } catch {
        return c.json({ code: 'invalid_token' }, 401);
      }
    }
    const leaseId = `lse_${randomBytes(16).toString('hex')}`;
    const expiresAt = now + 600_000;
    const leaseKey = `${p}:lease:${leaseId}`;
    const created = await call.floorCreate(
      leaseKey,
      `${p}:expiries`,
      `${p}:workload:${subject}`,
      subject,
      body.target,
      body.task.id,
      'tickets:read',
      now,
      expiresAt,
      leaseId,
    );
    if (created !== 1) return c.json({ code: 'conflict' }, 409);
    const credential =
      options.mint === undefined
        ? {
            token: await new SignJWT({ scope: 'tickets:read', task: body.task.id })
              .setProtectedHeader({ alg: 'ES256', kid: 'f1', typ: 'at+jwt' })
              .setIssuer('https://floor.bench.example')
              .setAudience('https://tickets.bench.example')
              .setSubject(subject)
              .setJti(leaseId)
              .setIssuedAt(Math.floor(now / 1000))
              .setExpirationTime(Math.floor(expiresAt / 1000))
              .sign(signing),
          }
        : await options.mint(leaseId, expiresAt);
    await call.floorActivate(leaseKey, leaseId);
    const event = JSON.stringify({
      id: `evt_${randomBytes(12).toString('hex')}`,
      type: 'lease.issued',
      time: new Date(now).toISOString(),
      lease_id: leaseId,
      workload: { id: 'agent', subject },
      target: body.target,
      task: body.task,
      scope: { scopes: ['tickets:read'] },
      expires_at: new Date(expiresAt).toISOString(),
      decision: { policy: 'agent-tickets', policy_hash: `sha256:${'0'.repeat(64)}` },
      credential: { audience: 'https://tickets.bench.example', kid: 'f1', alg: 'ES256' },
      source: { ip: c.req.header('x-forwarded-for') ?? '127.0.0.1', user_agent: 'bench' },
      request_id: `req_${randomBytes(12).toString('hex')}`,
      prev: chainHead,
    });
    chainHead = createHash('sha256').update(event).digest('hex');
    await redis.xadd(`${p}:events`, '*', 'event', event);
    return c.json(
      { lease_id: leaseId, expires_at: new Date(expiresAt).toISOString(), credential },
      201,
    );
  });

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}
