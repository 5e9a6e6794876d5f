import { describe, expect, it } from 'vitest';
import { parseSpiffeId } from '../../../src/identity/spiffe-id.js';
import { IdentityVerifier } from '../../../src/identity/verifier.js';
import { issuerConfig } from '../../helpers/identity-support.js';

describe('SPIFFE ID rules', () => {
  it.each([
    ['spiffe://example.org/ns/prod/sa/web', 'example.org', '/ns/prod/sa/web'],
    ['spiffe://td_1-x.example/A.b-c_D', 'td_1-x.example', '/A.b-c_D'],
    ['spiffe://example.org', 'example.org', ''],
  ])('accepts %s', (text, trustDomain, path) => {
    expect(parseSpiffeId(text)).toEqual({ trustDomain, path });
  });

  it.each([
    'https://example.org/web',
    'SPIFFE://example.org/web',
    'spiffe://Example.org/web',
    'spiffe://example.org:8443/web',
    'spiffe://user@example.org/web',
    'spiffe:///web',
    'spiffe://example.org/',
    'spiffe://example.org//web',
    'spiffe://example.org/./web',
    'spiffe://example.org/a/../web',
    'spiffe://example.org/web?x=1',
    'spiffe://example.org/web#frag',
    'spiffe://example.org/we b',
    'spiffe://example.org/wé',
    `spiffe://${'a'.repeat(256)}/web`,
    `spiffe://example.org/${'a'.repeat(2048)}`,
  ])('refuses %s', (text) => {
    expect(typeof parseSpiffeId(text)).toBe('string');
  });
});

describe('OIDC discovery transport', () => {
  it('is HTTPS only; plain HTTP only to loopback and only when the issuer allows it', () => {
    const build = (overrides: Record<string, unknown>) => () =>
      new IdentityVerifier([issuerConfig({ discovery: true, ...overrides })], []);
    expect(build({ issuer: 'http://idp.example.test' })).toThrow(TypeError);
    expect(build({ issuer: 'http://127.0.0.1:8080' })).toThrow(TypeError);
    expect(build({ issuer: 'http://idp.example.test', allow_insecure_loopback: true })).toThrow(
      TypeError,
    );
    expect(build({ issuer: 'http://127.0.0.1:8080', allow_insecure_loopback: true })).not.toThrow();
    expect(build({ issuer: 'https://idp.example.test' })).not.toThrow();
  });
});
