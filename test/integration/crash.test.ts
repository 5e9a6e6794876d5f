import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { RedisLeaseStore } from '../../src/leases/redis-store.js';
import { sleep } from '../helpers/broker-harness.js';
import { freePort } from '../helpers/free-port.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../helpers/services.js';

const ROOT = resolve(import.meta.dirname, '../..');

async function waitFor<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** `serve` as its own process group, so SIGKILL takes tsx and node together. */
function serve(configFile: string, log: string): ChildProcess {
  return spawn(
    process.execPath,
    ['--import', 'tsx', 'src/main.ts', 'serve', '--config', configFile, '--allow-provider-modules'],
    {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'warn', JIT_CRASH_LOG: log },
    },
  );
}

async function healthy(port: number): Promise<boolean | undefined> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok || undefined;
  } catch {
    return undefined;
  }
}

describe('crash between mint and activation (SIGKILL)', () => {
  let ok = false;
  let dir = '';
  const prefix = uniquePrefix('crash');
  const children: ChildProcess[] = [];
  let redis: Redis;

  beforeAll(async () => {
    ok = await requireService('redis', await redisAvailable());
    dir = mkdtempSync(join(tmpdir(), 'jit-crash-'));
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    for (const child of children) {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await deletePrefix(redis, `${prefix}:`);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves a pending lease that the next broker revokes at the provider', async (ctx) => {
    if (!ok) ctx.skip();
    const keys = await generateKeyPair('ES256');
    writeFileSync(
      join(dir, 'jwks.json'),
      JSON.stringify({
        keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'c1', alg: 'ES256', use: 'sig' }],
      }),
    );
    const config = (port: number) => ({
      server: { host: '127.0.0.1', port, public_url: 'https://broker.crash.test' },
      redis: { url: REDIS_URL, key_prefix: prefix },
      issuers: [
        {
          name: 'test',
          issuer: 'https://issuer.crash.test',
          audience: 'jit-broker',
          jwks_file: join(dir, 'jwks.json'),
          algorithms: ['ES256'],
        },
      ],
      workloads: [{ id: 'crash-agent', issuer: 'test', subject: 'agent', tier: 'write' }],
      targets: [
        {
          name: 'crashy',
          provider: 'module',
          module: resolve(ROOT, 'test/fixtures/pausing-provider.ts'),
          state_dir: dir,
        },
      ],
      policies: [
        {
          name: 'p',
          workloads: ['crash-agent'],
          target: 'crashy',
          allow: { names: ['db'] },
          intents: ['triage'],
          default_ttl: '5m',
          max_ttl: '10m',
        },
      ],
      events: { stdout: { enabled: false }, redis_stream: { enabled: true } },
      encryption: { keys: [{ id: 'k', key: Buffer.alloc(32, 3).toString('base64') }] },
      leases: { pending_timeout: '1s', reaper: { interval: '100ms' } },
    });
    const first = await freePort();
    writeFileSync(join(dir, 'one.yaml'), stringify(config(first)));
    const one = serve(join(dir, 'one.yaml'), 'one');
    children.push(one);
    await waitFor('first broker', () => healthy(first));

    writeFileSync(join(dir, 'pause'), '');
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'c1' })
      .setIssuer('https://issuer.crash.test')
      .setAudience('jit-broker')
      .setSubject('agent')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(keys.privateKey);
    const request = fetch(`http://127.0.0.1:${first}/v1/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        target: 'crashy',
        scope: { name: 'db' },
        task: { id: 't1', intent: 'triage' },
      }),
    }).catch(() => 'connection lost');

    const minting = await waitFor('the mint to start', () =>
      readdirSync(dir).find((f) => f.startsWith('minting-')),
    );
    const leaseId = minting.slice('minting-'.length);
    process.kill(-(one.pid as number), 'SIGKILL');
    expect(await request).toBe('connection lost');

    const store = new RedisLeaseStore(redis, prefix, {
      retentionMs: 60_000,
      pendingTimeoutMs: 1_000,
      claimTimeoutMs: 5_000,
      maxAttempts: 3,
      failedRetryMs: 1_000,
    });
    expect((await store.get(leaseId))?.state).toBe('pending');
    rmSync(join(dir, 'pause'));

    const second = await freePort();
    writeFileSync(join(dir, 'two.yaml'), stringify(config(second)));
    const two = serve(join(dir, 'two.yaml'), 'two');
    children.push(two);
    await waitFor('the orphaned credential to be revoked', () =>
      existsSync(join(dir, 'revoked')) &&
      readFileSync(join(dir, 'revoked'), 'utf8').includes(leaseId)
        ? true
        : undefined,
    );
    const lease = await waitFor('the lease to end revoked', async () => {
      const l = await store.get(leaseId);
      return l?.state === 'revoked' ? l : undefined;
    });
    expect(lease).toMatchObject({ state: 'revoked', revokeReason: 'pending_timeout' });
    process.kill(-(two.pid as number), 'SIGTERM');
  }, 60_000);
});
