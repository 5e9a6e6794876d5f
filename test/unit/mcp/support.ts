import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { expect } from 'vitest';
import { createMcpGuard, type McpGuardOptions } from '../../../src/mcp/index.js';

export const ISSUER = 'https://broker.test.example';
export const RESOURCE = 'https://mcp.test.example/mcp';
export const JWKS_URI = `${ISSUER}/.well-known/jwks.json`;

export interface SigningKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function signingKey(
  kid: string,
  alg: 'ES256' | 'RS256' = 'ES256',
): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A fake broker publishing one fresh ES256 key, `k1`, as each test of the guard starts with. */
export async function brokerWithKey(): Promise<{ broker: FakeBroker; key: SigningKey }> {
  const broker = new FakeBroker();
  const key = await signingKey('k1');
  broker.keys.push(key);
  return { broker, key };
}

/** A clock the tests move by hand, in whole seconds. */
export class Clock {
  ms = 1_800_000_000_000;
  readonly now = () => this.ms;
  get seconds() {
    return Math.floor(this.ms / 1000);
  }
}

/**
 * The broker as the guard sees it: a JWKS over `fetch` and an introspection function that
 * answers from the set of revoked lease ids, counting calls.
 */
export class FakeBroker {
  readonly keys: SigningKey[] = [];
  readonly revoked = new Set<string>();
  introspections = 0;
  failIntrospection = false;
  jwksFetches = 0;
  readonly clock = new Clock();
  #jti = 0;

  readonly fetch: typeof fetch = async (input) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url !== JWKS_URI) return new Response('not found', { status: 404 });
    this.jwksFetches++;
    return Response.json({ keys: this.keys.map((k) => k.jwk) });
  };

  readonly introspect = async (token: string) => {
    this.introspections++;
    if (this.failIntrospection) throw new Error('broker unreachable');
    const jti = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).jti;
    return { active: !this.revoked.has(jti) };
  };

  /** A token as the broker's jwt provider signs it; `claims` and `header` override. */
  async token(
    key: SigningKey,
    claims: JWTPayload = {},
    header: Record<string, unknown> = {},
  ): Promise<string> {
    this.#jti++;
    return new SignJWT({
      scope: 'files:read',
      client_id: 'agent-a',
      jti: `lse_test${this.#jti}`,
      ...claims,
    })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header })
      .setIssuer(typeof claims.iss === 'string' ? claims.iss : ISSUER)
      .setAudience(claims.aud ?? RESOURCE)
      .setSubject('agent-a')
      .setIssuedAt(this.clock.seconds)
      .setExpirationTime(typeof claims.exp === 'number' ? claims.exp : this.clock.seconds + 300)
      .sign(key.privateKey);
  }

  guard(options: Partial<McpGuardOptions> = {}) {
    return createMcpGuard({
      resource: RESOURCE,
      issuer: ISSUER,
      introspect: this.introspect,
      requiredScopes: ['files:read'],
      allowedOrigins: ['https://app.test.example'],
      fetch: this.fetch,
      now: this.clock.now,
      ...options,
    });
  }
}

export function mcpRequest(token?: string, headers: Record<string, string> = {}): Request {
  return new Request(RESOURCE, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      host: 'mcp.test.example',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
}

/** The `WWW-Authenticate` parameters as a record. */
export function challengeParams(header: string | null): Record<string, string> {
  expect(header).toMatch(/^Bearer /);
  const out: Record<string, string> = {};
  for (const [, name, value] of (header ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) {
    if (name !== undefined && value !== undefined) out[name] = value.replace(/\\(.)/g, '$1');
  }
  return out;
}
