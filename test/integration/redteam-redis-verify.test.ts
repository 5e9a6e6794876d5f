import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisAclProvider, redisProviderFactory } from '../../providers/redis/index.js';
import { newLeaseId } from '../../src/lib/ids.js';
import { type RedisProc, startOrSkip, startRedis } from '../helpers/redis-procs.js';

/*
 * The Redis revocation check on a target of two nodes: an ACL user still present on one node
 * (a node that missed the delete, or got an old ACL back) is not gone, and a node that does
 * not answer is no proof either.
 */

const a = await startOrSkip('dedicated redis-server', () => startRedis());
const b = a === null ? null : await startOrSkip('dedicated redis-server', () => startRedis());

describe.skipIf(a === null || b === null)('redis revocation check on every node', () => {
  let provider: RedisAclProvider;
  const nodeA = a as RedisProc;
  const nodeB = b as RedisProc;

  beforeAll(() => {
    provider = redisProviderFactory.create(
      {
        name: 'redis-two',
        provider: 'redis',
        nodes: [
          { host: '127.0.0.1', port: nodeA.port },
          { host: '127.0.0.1', port: nodeB.port },
        ],
        connect: { host: '127.0.0.1', port: nodeA.port },
        user_prefix: 'jrv_',
      },
      { brokerUrl: 'https://broker.test', ownRedis: () => [] },
    ) as RedisAclProvider;
  });
  afterAll(async () => {
    await provider?.close?.();
    await nodeA.destroy();
    await nodeB.destroy();
  });

  it('a user left on one of two nodes is not gone; a silent node proves nothing', async () => {
    const now = Date.now();
    const leaseId = newLeaseId('cache-mcp');
    const { credential, handle } = await provider.mint({
      leaseId,
      workload: 'cache-mcp',
      subject: 'spiffe://test/cache-mcp',
      task: { id: 't', intent: 'warm-cache' },
      scope: { keys: ['cache:*'], categories: ['read'] },
      issuedAt: now,
      expiresAt: now + 300_000,
    });
    const user = String(credential.username);
    await provider.revoke(handle, leaseId);
    await expect(provider.verifyRevoked?.(handle, leaseId)).resolves.toMatchObject({
      gone: true,
      evidence: expect.stringMatching(/present on 0 of 2 node/),
    });

    // Node B gets the user back (a restore, a failover to a replica that missed the delete).
    const admin = nodeB.client();
    try {
      await admin.call('ACL', 'SETUSER', user, 'on', '>still-works-pw', '~cache:*', '+@read');
      const proof = await provider.verifyRevoked?.(handle, leaseId);
      expect(proof).toMatchObject({ gone: false });
      expect(proof?.evidence).toMatch(/present on 1 of 2 node/);
      expect(proof?.evidence).not.toContain('still-works-pw');
      await admin.call('ACL', 'DELUSER', user);
    } finally {
      admin.disconnect();
    }

    await nodeB.stop();
    try {
      await expect(provider.verifyRevoked?.(handle, leaseId)).rejects.toThrow();
    } finally {
      await nodeB.start();
    }
  });
});
