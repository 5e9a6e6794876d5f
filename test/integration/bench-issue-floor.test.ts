import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningFloor, startFloor } from '../../bench/lib/issue-floor.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../helpers/services.js';

/**
 * The issuance bench's floor must do the work it claims (bench/issue.ts compares the broker
 * with it): verify the workload token, write and activate the lease, chain its event, sign
 * the credential. A floor that skipped a step would flatter it.
 */
describe('issuance bench floor', () => {
  const prefix = uniquePrefix('floor');
  const issuer = 'https://issuer.floor.test';
  let floor: RunningFloor | undefined;
  let redis: Redis | undefined;
  let sign: (claims?: { iss?: string; exp?: number }) => Promise<string>;
  let up = false;

  beforeAll(async () => {
    up = await requireService('redis', await redisAvailable());
    if (!up) return;
    const workload = await generateKeyPair('ES256');
    sign = (claims = {}) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'w1' })
        .setIssuer(claims.iss ?? issuer)
        .setAudience('jit-broker')
        .setSubject('spiffe://floor/agent')
        .setExpirationTime(claims.exp ?? '10m')
        .sign(workload.privateKey);
    redis = new Redis(REDIS_URL);
    floor = await startFloor({
      redisUrl: REDIS_URL,
      prefix,
      workloadJwk: { ...(await exportJWK(workload.publicKey)), kid: 'w1', alg: 'ES256' },
      issuer,
      audience: 'jit-broker',
    });
  });

  afterAll(async () => {
    await floor?.close();
    if (redis !== undefined) {
      await deletePrefix(redis, prefix);
      redis.disconnect();
    }
  });

  const issue = (token: string, task: string) =>
    fetch(`${floor?.url}/v1/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'tickets', task: { id: task, intent: 'triage' } }),
    });

  it('answers 201 with a signed credential, an active lease and chained events', async (ctx) => {
    if (!up || redis === undefined) return ctx.skip();
    const token = await sign();
    const first = await issue(token, 'task-1');
    const second = await issue(token, 'task-2');
    expect([first.status, second.status]).toEqual([201, 201]);
    const body = (await first.json()) as { lease_id: string; credential: { token: string } };
    expect(decodeProtectedHeader(body.credential.token).alg).toBe('ES256');
    expect(decodeJwt(body.credential.token)).toMatchObject({
      sub: 'spiffe://floor/agent',
      jti: body.lease_id,
      task: 'task-1',
    });
    expect(await redis.hget(`${prefix}:lease:${body.lease_id}`, 'state')).toBe('active');
    const entries = await redis.xrange(`${prefix}:events`, '-', '+');
    expect(entries).toHaveLength(2);
    const [one, two] = entries.map(([, fields]) => fields[1] ?? '');
    expect(JSON.parse(two ?? '{}').prev).toBe(
      createHash('sha256')
        .update(one ?? '')
        .digest('hex'),
    );
    expect(Buffer.byteLength(one ?? '')).toBeGreaterThan(500);
  });

  it('verifies the workload token: a wrong key, issuer or an expired token gets 401', async (ctx) => {
    if (!up) return ctx.skip();
    const stranger = await generateKeyPair('ES256');
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'w1' })
      .setIssuer(issuer)
      .setAudience('jit-broker')
      .setSubject('spiffe://floor/agent')
      .setExpirationTime('10m')
      .sign(stranger.privateKey);
    const expired = await sign({ exp: Math.floor(Date.now() / 1000) - 120 });
    const wrongIssuer = await sign({ iss: 'https://elsewhere.test' });
    for (const token of [forged, expired, wrongIssuer, 'not-a-jwt']) {
      expect((await issue(token, 'task-x')).status).toBe(401);
    }
  });
});
