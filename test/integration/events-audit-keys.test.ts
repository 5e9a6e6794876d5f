import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditPublicJwk, verifyChain } from '../../src/events/chain.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';

function ed25519Pem(): { private: string; public: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    private: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    public: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

const ACTIVE = ed25519Pem();
const NEXT = ed25519Pem();
const RETIRED = ed25519Pem();

describe('GET /.well-known/jit-audit-keys.json', () => {
  let h: Harness;
  let ephemeral: Harness;

  beforeAll(async () => {
    h = await startHarness({
      configure: (raw) => {
        (raw.events as Record<string, unknown>).signing = {
          keys: [
            { kid: 'audit-2026', private_key: ACTIVE.private, state: 'active' },
            { kid: 'audit-2027', private_key: NEXT.private, state: 'next' },
            { kid: 'audit-2025', public_key: RETIRED.public, state: 'retired' },
          ],
        };
      },
    });
    ephemeral = await startHarness();
  });
  afterAll(async () => {
    await h.close();
    await ephemeral.close();
  });

  it('publishes the active, next and retired keys to anyone, public members only', async () => {
    const res = await h.request('/.well-known/jit-audit-keys.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const body = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(body.keys.map((k) => k.kid)).toEqual(['audit-2026', 'audit-2027', 'audit-2025']);
    for (const key of body.keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    }
    const text = JSON.stringify(body);
    for (const pem of [ACTIVE.private, NEXT.private]) {
      expect(text).not.toContain(pem.split('\n')[1]);
    }
  });

  it("the replica's chain names the active kid and verifies against what it publishes", async () => {
    const events = await h.flushedEvents();
    expect(events[0]?.detail).toMatchObject({ kid: 'audit-2026', key_source: 'configured' });
    const { keys } = (await (await h.request('/.well-known/jit-audit-keys.json')).json()) as {
      keys: AuditPublicJwk[];
    };
    expect(verifyChain(events, keys)).toEqual({ ok: true });
    // No private key reaches the audit trail or the logs.
    for (const pem of [ACTIVE.private, NEXT.private]) {
      expect(h.events.text + h.logs.text).not.toContain(pem.split('\n')[1]);
    }
  });

  it('publishes nothing when no keys are configured: an ephemeral key anchors nothing', async () => {
    const res = await ephemeral.request('/.well-known/jit-audit-keys.json');
    expect(await res.json()).toEqual({ keys: [] });
    const [genesis] = await ephemeral.flushedEvents();
    expect(genesis?.detail).toMatchObject({ key_source: 'ephemeral' });
  });
});
