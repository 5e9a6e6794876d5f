import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { issuerSchema } from '../../src/config/schema.js';
import { BrokerError } from '../../src/errors.js';
import { RedisReplayGuard } from '../../src/identity/replay-guard.js';
import { AuthError } from '../../src/identity/types.js';
import { IdentityVerifier } from '../../src/identity/verifier.js';
import {
  jwks,
  makeKey,
  rejectionOf,
  signToken,
  writeJwksFile,
} from '../helpers/identity-support.js';
import { suiteRedis } from '../helpers/suite-redis.js';

const ISS = 'https://minted-per-request.test.example';
const redis = suiteRedis('jti');
const { prefix } = redis;
const client = (ctx: { skip: () => void }): Redis => redis.client(ctx);

describe('one-time jti in Redis', () => {
  it('claims a jti once across guards (replicas), and lets Redis forget it at expiry', async (ctx) => {
    const r = client(ctx);
    const a = new RedisReplayGuard(r, prefix);
    const b = new RedisReplayGuard(r, prefix);
    const expiresAt = Date.now() + 1_500;
    expect(await a.claimOnce(ISS, 'jti-1', expiresAt)).toBe(true);
    expect(await b.claimOnce(ISS, 'jti-1', expiresAt)).toBe(false);
    expect(await b.claimOnce(ISS, 'jti-2', expiresAt)).toBe(true);
    const keys = await r.keys(`${prefix}:jti:*`);
    expect(keys).toHaveLength(2);
    const ttl = await r.pttl(keys[0] as string);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_500);
    // Neither the jti nor the issuer appears in the key in clear.
    expect(keys.join(' ')).not.toContain('jti-1');
  });

  it('refuses a replayed token through two verifiers sharing Redis', async (ctx) => {
    const r = client(ctx);
    const key = await makeKey('k1');
    const issuer = issuerSchema.parse({
      name: 'per-request',
      issuer: ISS,
      audience: 'jit-broker',
      jwks_file: writeJwksFile(jwks(key)),
      one_time_jti: true,
    });
    const replica = () =>
      new IdentityVerifier([issuer], [], { replayGuard: new RedisReplayGuard(r, prefix) });
    const now = Math.floor(Date.now() / 1000);
    const token = await signToken(key, {
      iss: ISS,
      aud: 'jit-broker',
      sub: 'agent',
      jti: `jti-${Math.random()}`,
      iat: now,
      exp: now + 60,
    });
    await replica().verify(token);
    const err = (await rejectionOf(replica().verify(token))) as unknown as AuthError;
    expect(err).toBeInstanceOf(AuthError);
    expect(err.reason).toBe('replayed');
  });

  it('fails closed when Redis cannot answer', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    down.on('error', () => {});
    const err = await rejectionOf(
      new RedisReplayGuard(down, prefix).claimOnce(ISS, 'x', Date.now() + 1000),
    );
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as unknown as BrokerError).code).toBe('store_unavailable');
    down.disconnect();
  });
});
