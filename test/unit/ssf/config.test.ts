import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import { readSetSigningKey } from '../../../src/ssf/key.js';
import { configIssues } from '../../helpers/config-issues.js';

const KEY = randomBytes(32).toString('base64');
const pem = (pair: { privateKey: { export(o: object): string | Buffer } }) =>
  pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const EC = pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }));

function withSsf(ssf: Record<string, unknown>) {
  return stringify({ encryption: { keys: [{ id: 'a', key: KEY }] }, ssf });
}

const receiver = (fields: Record<string, unknown> = {}) => ({
  name: 'siem',
  url: 'https://siem.example/caep',
  audience: 'https://siem.example',
  ...fields,
});

describe('ssf configuration', () => {
  it('takes an https receiver and an EC, Ed25519 or RSA key', () => {
    for (const key of [
      EC,
      pem(generateKeyPairSync('ed25519')),
      pem(generateKeyPairSync('rsa', { modulusLength: 2048 })),
    ]) {
      const config = parseConfig(
        withSsf({ signing_key: { private_key: key }, receivers: [receiver()] }),
      );
      expect(config.ssf?.receivers[0]?.allow_insecure_loopback).toBe(false);
      expect(config.ssf?.delivery.max_attempts).toBe(10);
    }
  });

  it('refuses a receiver URL that is not https, naming the field', () => {
    const issues = configIssues(() =>
      parseConfig(
        withSsf({
          signing_key: { private_key: EC },
          receivers: [receiver({ url: 'http://siem.example/caep' })],
        }),
      ),
    );
    expect(issues).toEqual([expect.stringMatching(/^ssf\.receivers.*url: must be https/)]);
  });

  it('plain http only to loopback, and only with allow_insecure_loopback', () => {
    const loopback = receiver({ url: 'http://127.0.0.1:9000/caep' });
    expect(
      configIssues(() =>
        parseConfig(withSsf({ signing_key: { private_key: EC }, receivers: [loopback] })),
      ),
    ).toEqual([expect.stringMatching(/url: .*allow_insecure_loopback: true/)]);
    const allowed = parseConfig(
      withSsf({
        signing_key: { private_key: EC },
        receivers: [{ ...loopback, allow_insecure_loopback: true }],
      }),
    );
    expect(allowed.ssf?.receivers).toHaveLength(1);
    expect(
      configIssues(() =>
        parseConfig(
          withSsf({
            signing_key: { private_key: EC },
            receivers: [
              receiver({ url: 'http://siem.example/caep', allow_insecure_loopback: true }),
            ],
          }),
        ),
      ),
    ).toEqual([expect.stringMatching(/url: must be https \(plain http only to a loopback/)]);
  });

  it('refuses a key that does not parse, naming the field and never quoting the key', () => {
    const garbage =
      '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----';
    const issues = configIssues(() =>
      parseConfig(withSsf({ signing_key: { private_key: garbage }, receivers: [] })),
    );
    expect(issues).toEqual([expect.stringMatching(/^ssf\.signing_key\.private_key: /)]);
    expect(issues.join('\n')).not.toContain('bm90IGEga2V5');
  });

  it('refuses a key of another type (P-384, a short RSA key) and a public key', () => {
    for (const key of [
      pem(generateKeyPairSync('ec', { namedCurve: 'P-384' })),
      pem(generateKeyPairSync('rsa', { modulusLength: 1024 })),
      generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString(),
    ]) {
      expect(
        configIssues(() => parseConfig(withSsf({ signing_key: { private_key: key } }))),
      ).toEqual([expect.stringMatching(/^ssf\.signing_key\.private_key: /)]);
    }
  });

  it('refuses duplicate receiver names and backoff_max below backoff_base', () => {
    const issues = configIssues(() =>
      parseConfig(
        withSsf({
          signing_key: { private_key: EC },
          receivers: [receiver(), receiver()],
          delivery: { backoff_base: '10s', backoff_max: '1s' },
        }),
      ),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/duplicate receiver siem/),
        expect.stringMatching(/^ssf\.delivery\.backoff_max: must be at least backoff_base/),
      ]),
    );
  });

  it('the kid defaults to the RFC 7638 thumbprint; the published JWK has no private part', () => {
    const key = readSetSigningKey(EC);
    expect(key.alg).toBe('ES256');
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key.publicJwk).not.toHaveProperty('d');
    expect(readSetSigningKey(EC, 'mine').kid).toBe('mine');
  });

  it('the default kid is stable: the same key read again, or as a JWK, has the same kid', async () => {
    const key = readSetSigningKey(EC);
    expect(key.kid).toBe(await calculateJwkThumbprint(key.publicJwk as never));
    expect(readSetSigningKey(EC).kid).toBe(key.kid);
    const jwk = JSON.stringify(createPrivateKey(EC).export({ format: 'jwk' }));
    expect(readSetSigningKey(jwk).kid).toBe(key.kid);
  });
});
