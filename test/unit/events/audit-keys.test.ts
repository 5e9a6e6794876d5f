import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/load.js';
import { EventBus } from '../../../src/events/bus.js';
import { EventChain, verifyChain } from '../../../src/events/chain.js';
import {
  AuditKeyring,
  createAuditKeyring,
  jwkThumbprint,
  readAuditSigningConfig,
} from '../../../src/events/signing/index.js';
import type { BrokerEvent } from '../../../src/events/types.js';
import { MemorySink } from '../../helpers/memory-sink.js';

const T0 = new Date('2026-03-01T09:00:00.000Z');

function ed25519Pem(): { private: string; public: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    private: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    public: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

const OLD = ed25519Pem();
const CURRENT = ed25519Pem();
const NEXT = ed25519Pem();

/** A chain signed by the ring's active key, from genesis to a final checkpoint. */
function chainOf(ring: AuditKeyring, count = 3): BrokerEvent[] {
  const { kid, key } = ring.signingKey();
  const chain = new EventChain({ privateKey: key, kid, keySource: ring.source });
  const events = [chain.genesis(T0)];
  for (let n = 0; n < count; n += 1) {
    events.push(chain.append({ type: 'lease.revoked', outcome: 'success', lease_id: `l${n}` }, T0));
  }
  events.push(chain.checkpoint(T0, { final: true }));
  return events;
}

describe('events.signing', () => {
  it('publishes the active, next and retired keys, public members only, active first', () => {
    const ring = createAuditKeyring({
      signing: {
        keys: [
          { kid: 'audit-2025', public_key: OLD.public, state: 'retired' },
          { kid: 'audit-2027', private_key: NEXT.private, state: 'next' },
          { kid: 'audit-2026', private_key: CURRENT.private, state: 'active' },
        ],
      },
    });
    expect(ring.source).toBe('configured');
    expect(ring.kid).toBe('audit-2026');
    const jwks = ring.publicJwks();
    expect(jwks.map((k) => k.kid)).toEqual(['audit-2026', 'audit-2027', 'audit-2025']);
    for (const jwk of jwks) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    }
    expect(JSON.stringify(jwks)).not.toMatch(/"d"|PRIVATE/);
  });

  it('reports each bad entry by its path, never quoting the key', () => {
    const { privateKey: ec } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecPem = ec.export({ format: 'pem', type: 'pkcs8' }).toString();
    const { issues } = readAuditSigningConfig({
      signing: {
        keys: [
          { kid: 'a', private_key: ecPem, state: 'active' },
          { kid: 'a', private_key: CURRENT.private, state: 'active' },
          { kid: 'b', public_key: NEXT.public, state: 'active' },
          { kid: 'c', private_key: 'not a key', state: 'next' },
          { kid: 'd', private_key: OLD.private, public_key: OLD.public, state: 'retired' },
          { kid: 'e', state: 'retired' },
          { kid: 'f', public_key: OLD.private, state: 'retired' },
        ],
      },
    });
    expect(issues).toEqual([
      'events.signing.keys: exactly one key must be active (found 3)',
      'events.signing.keys.0.private_key: audit keys are Ed25519 (the chain is signed with EdDSA)',
      'events.signing.keys.1.kid: duplicate kid',
      'events.signing.keys.2.private_key: the active key signs: it needs its private_key',
      'events.signing.keys.3.private_key: expected an unencrypted PKCS#8 PEM or a private JWK (JSON)',
      'events.signing.keys.4.public_key: give private_key or public_key, not both',
      'events.signing.keys.5.private_key: required (or public_key for a key that no longer signs)',
      'events.signing.keys.6.public_key: this PEM holds a private key; give its public half only',
    ]);
    const text = issues.join('\n');
    for (const secret of [ecPem, CURRENT.private, OLD.private]) {
      expect(text).not.toContain(secret.split('\n')[1]);
    }
    expect(() => createAuditKeyring({ signing: { keys: [] } })).toThrow(ConfigError);
  });

  it('without keys, signs with a key of its own that it publishes nowhere', async () => {
    const ring = createAuditKeyring({});
    expect(ring.source).toBe('ephemeral');
    expect(ring.publicJwks()).toEqual([]);
    const genesis = chainOf(ring)[0];
    expect(genesis?.detail).toMatchObject({ key_source: 'ephemeral', kid: ring.kid });
    const announced = genesis?.detail?.public_key as { kty: 'OKP'; crv: 'Ed25519'; x: string };
    // RFC 7638 names the key, as jose computes it.
    expect(ring.kid).toBe(await calculateJwkThumbprint(announced));
    expect(jwkThumbprint(announced)).toBe(ring.kid);
  });
});

describe('verifying against published keys', () => {
  const ring = AuditKeyring.configured([
    { kid: 'audit-2026', private_key: CURRENT.private, state: 'active' },
    { kid: 'audit-2027', private_key: NEXT.private, state: 'next' },
  ]);

  it('the genesis and every checkpoint name the kid that signs them', () => {
    const events = chainOf(ring);
    expect(events[0]?.detail).toMatchObject({ kid: 'audit-2026', key_source: 'configured' });
    expect(events.at(-1)?.detail).toMatchObject({ kid: 'audit-2026', final: true });
    expect(verifyChain(events, ring.publicJwks())).toEqual({ ok: true });
  });

  it('refuses a chain whose genesis announces a key the JWKS does not hold', () => {
    const forged = chainOf(AuditKeyring.ephemeral());
    expect(verifyChain(forged, ring.publicJwks())).toEqual({
      ok: false,
      index: 0,
      error: 'key_not_anchored',
    });
    // A run without its genesis still has to pass every checkpoint by its kid.
    expect(verifyChain(forged.slice(1), ring.publicJwks())).toEqual({
      ok: false,
      index: 3,
      error: 'unknown_kid',
    });
  });

  it('refuses a checkpoint that claims a published kid but was signed by another key', () => {
    const { kid: _kid, ...impostorKey } = { kid: 'x', ...ed25519Pem() };
    const impostor = AuditKeyring.configured([
      { kid: 'audit-2026', private_key: impostorKey.private, state: 'active' },
    ]);
    expect(verifyChain(chainOf(impostor).slice(1), ring.publicJwks())).toEqual({
      ok: false,
      index: 3,
      error: 'bad_signature',
    });
  });

  it('rotation: a chain the old key signed verifies while the JWKS keeps it as retired', () => {
    const before = AuditKeyring.configured([
      { kid: 'audit-2025', private_key: OLD.private, state: 'active' },
      { kid: 'audit-2026', private_key: CURRENT.private, state: 'next' },
    ]);
    const after = AuditKeyring.configured([
      { kid: 'audit-2026', private_key: CURRENT.private, state: 'active' },
      { kid: 'audit-2025', public_key: OLD.public, state: 'retired' },
    ]);
    const old = chainOf(before);
    const current = chainOf(after);
    // The next key was published before it signed: the old JWKS already verifies new chains.
    expect(verifyChain(current, before.publicJwks())).toEqual({ ok: true });
    expect(verifyChain(old, after.publicJwks())).toEqual({ ok: true });
    // Once the retired key is dropped, its chains no longer verify.
    const dropped = after.publicJwks().filter((jwk) => jwk.kid !== 'audit-2025');
    expect(verifyChain(old, dropped)).toMatchObject({ ok: false, error: 'key_not_anchored' });
  });
});

describe('EventBus signing', () => {
  it('signs with the configured keyring and publishes it', async () => {
    const sink = new MemorySink('stream', 'required');
    const bus = new EventBus({ sinks: [sink], signing: ring() });
    await bus.start();
    expect(bus.keySource).toBe('configured');
    expect(bus.publishedKeys().map((k) => k.kid)).toEqual(['audit-2026']);
    await bus.close();
    expect(verifyChain(sink.events, bus.publishedKeys())).toEqual({ ok: true });
  });

  it('ends the chain with a final checkpoint at close, even when nothing is left to cover', async () => {
    const sink = new MemorySink('stream', 'required');
    const bus = new EventBus({ sinks: [sink] });
    await bus.start();
    await bus.emit({ type: 'lease.revoked', outcome: 'success' });
    await bus.flush();
    expect(sink.events.at(-1)?.detail?.final).toBeUndefined();
    await bus.close();
    expect(sink.events.map((e) => e.type)).toEqual([
      'chain.genesis',
      'lease.revoked',
      'chain.checkpoint',
      'chain.checkpoint',
    ]);
    expect(sink.events.at(-1)?.detail).toMatchObject({ final: true, upto_seq: 2 });
    expect(bus.keySource).toBe('ephemeral');
    expect(bus.publishedKeys()).toEqual([]);
  });

  function ring(): AuditKeyring {
    return AuditKeyring.configured([
      { kid: 'audit-2026', private_key: CURRENT.private, state: 'active' },
    ]);
  }
});
