import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { KeySet } from '../../src/identity/key-set.js';
import { RemoteKeySource } from '../../src/identity/remote-key-source.js';
import { Metrics } from '../../src/metrics.js';
import { parseScrape } from '../helpers/prometheus-scrape.js';

const TIMING = { cooldownMs: 10, refreshMs: 100, maxAgeMs: 10_000 };

describe('jit_jwks_refreshes_total', () => {
  it('counts each fetch of remote keys by outcome', async () => {
    const { publicKey } = await generateKeyPair('ES256');
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] };
    let clock = 0;
    let up = true;
    const source = new RemoteKeySource(
      async () => {
        if (!up) throw new Error('issuer unreachable');
        return { keys: KeySet.fromJwks(jwks) };
      },
      () => clock,
      TIMING,
    );
    const metrics = new Metrics({ version: 'test' });
    const count = async (outcome: string) =>
      parseScrape(await metrics.metrics()).value('jit_jwks_refreshes_total', { outcome });
    try {
      await source.current();
      expect(await count('success')).toBe(1);
      up = false;
      clock = 200;
      await source.current();
      expect(await count('failure')).toBe(1);
      expect(await count('success')).toBe(1);
      // Within the cooldown nothing is fetched, so nothing is counted.
      await source.current();
      expect(await count('failure')).toBe(1);
    } finally {
      metrics.close();
    }
    // A closed Metrics no longer listens.
    clock = 400;
    await source.current().catch(() => {});
    expect(await count('failure')).toBe(1);
  });
});
