import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HandleSealer } from '../../../src/leases/sealing.js';

const key = (id: string) => ({ id, key: randomBytes(32) });
const LEASE = 'lse_0123456789abcdefghjkmnpqrs';
const OTHER = 'lse_zyxwvtsrqpnmkjhgfedcba9876';

describe('HandleSealer (revocation handles at rest)', () => {
  it('round-trips and never stores the handle in clear', () => {
    const sealer = new HandleSealer([key('k1')]);
    const sealed = sealer.seal(LEASE, { token: 'ghs_secret_value' });
    expect(sealed).not.toContain('ghs_secret_value');
    expect(sealed.split('.')[1]).toBe('k1');
    expect(sealer.open(LEASE, sealed)).toEqual({ token: 'ghs_secret_value' });
  });

  it('binds the handle to its lease id (associated data)', () => {
    const sealer = new HandleSealer([key('k1')]);
    const sealed = sealer.seal(LEASE, { token: 'x' });
    expect(() => sealer.open(OTHER, sealed)).toThrow();
  });

  it('detects tampering', () => {
    const sealer = new HandleSealer([key('k1')]);
    const [v, kid, iv, body] = sealer.seal(LEASE, { token: 'x' }).split('.') as [
      string,
      string,
      string,
      string,
    ];
    const flipped = Buffer.from(body, 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(() =>
      sealer.open(LEASE, [v, kid, iv, flipped.toString('base64url')].join('.')),
    ).toThrow();
  });

  it('rotates: seals with the first key, opens with any configured one, refuses unknown ones', () => {
    const k1 = key('k1');
    const k2 = key('k2');
    const old = new HandleSealer([k1]).seal(LEASE, { role: 'r' });
    const rotated = new HandleSealer([k2, k1]);
    expect(rotated.open(LEASE, old)).toEqual({ role: 'r' });
    expect(rotated.seal(LEASE, { role: 'r' }).split('.')[1]).toBe('k2');
    expect(() => new HandleSealer([k2]).open(LEASE, old)).toThrow(/unknown key id k1/);
  });

  it('refuses keys that are not 256 bits', () => {
    expect(() => new HandleSealer([{ id: 'short', key: randomBytes(16) }])).toThrow(/32 bytes/);
    expect(() => new HandleSealer([])).toThrow();
  });
});
