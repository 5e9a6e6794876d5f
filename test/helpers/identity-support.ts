import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import {
  type IssuerConfig,
  issuerSchema,
  type OperatorIssuerConfig,
} from '../../src/config/schema.js';

/** A fixed clock the tests move by hand (ms since epoch, a whole second). */
export class TestClock {
  ms = 1_750_000_000_000;
  readonly now = (): number => this.ms;
  get seconds(): number {
    return Math.floor(this.ms / 1000);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface TestKey {
  readonly kid: string;
  readonly alg: 'ES256' | 'RS256';
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

export async function makeKey(kid: string, alg: 'ES256' | 'RS256' = 'ES256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, jwk };
}

export function jwks(...keys: TestKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => k.jwk) };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Signs with jose; `header` adds or overrides protected header members. */
export async function signToken(
  key: TestKey,
  claims: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Signs an arbitrary header with an ES256 key, bypassing jose's own header checks, to build
 * tokens jose would refuse to produce (`crit`, `b64`).
 */
export async function signRaw(
  key: TestKey,
  header: Record<string, unknown>,
  claims: JWTPayload,
): Promise<string> {
  const input = `${b64(header)}.${b64(claims)}`;
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    key.privateKey,
    new TextEncoder().encode(input),
  );
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

export function unsignedToken(header: Record<string, unknown>, claims: JWTPayload): string {
  return `${b64(header)}.${b64(claims)}.`;
}

export function writeJwksFile(document: unknown): string {
  const path = join(tmpdir(), `jwks-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(document));
  return path;
}

export function issuerConfig(overrides: Record<string, unknown>): IssuerConfig {
  return issuerSchema.parse({
    name: 'test-idp',
    issuer: 'https://idp.example.test',
    audience: 'jit-broker',
    ...overrides,
  });
}

type Route = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback HTTP server that counts every request per path. */
export class TestServer {
  readonly hits = new Map<string, number>();
  readonly routes = new Map<string, Route>();
  readonly #server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
    const route = this.routes.get(path);
    if (route === undefined) {
      res.writeHead(404).end();
      return;
    }
    route(req, res);
  });
  origin = '';

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  hitCount(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  totalHits(): number {
    return [...this.hits.values()].reduce((a, b) => a + b, 0);
  }

  json(path: string, body: () => unknown, status = 200): void {
    this.routes.set(path, (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body()));
    });
  }
}

/** Awaits a rejection and returns the error for assertions on reason and message. */
export async function rejectionOf(
  promise: Promise<unknown>,
): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

/** The operator issuer the identity unit tests trust. */
export const OPERATOR_ISS = 'https://sso.example.test';
export const OPERATOR_AUD = 'jit-broker-operators';

/** An operator issuer over a local JWKS file, roles in `roles`. */
export function operatorIssuerConfig(
  jwksFile: string,
  overrides: Partial<OperatorIssuerConfig> = {},
): OperatorIssuerConfig {
  return {
    name: 'sso',
    issuer: OPERATOR_ISS,
    audience: OPERATOR_AUD,
    discovery: false,
    jwks_file: jwksFile,
    algorithms: ['ES256'],
    clock_tolerance: 30_000,
    allow_insecure_loopback: false,
    roles_claim: 'roles',
    ...overrides,
  };
}

/** Claims of a fresh operator token for alice with the revoker role, at `clock`'s time. */
export function operatorClaims(
  clock: TestClock,
  overrides: Record<string, unknown> = {},
): JWTPayload {
  return {
    iss: OPERATOR_ISS,
    aud: OPERATOR_AUD,
    sub: 'alice@example.test',
    iat: clock.seconds,
    exp: clock.seconds + 600,
    roles: ['revoker'],
    ...overrides,
  } as JWTPayload;
}
