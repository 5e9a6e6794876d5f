import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export const WORKLOAD_ISSUER = 'https://issuer.bench.example';
export const WORKLOAD_AUDIENCE = 'jit-broker';
export const WORKLOAD_SUBJECT = 'spiffe://bench/agent';

/**
 * The workload identity issuer of the issuance bench: an ES256 key whose JWKS is served over
 * loopback HTTP (as an OIDC issuer's `jwks_uri` is), and the workload tokens it signs.
 */
export interface WorkloadIdentity {
  readonly jwksUrl: string;
  readonly publicJwk: JWK;
  /** A workload token with a fresh `jti`, valid two hours. */
  mint(): Promise<string>;
  close(): Promise<void>;
}

export async function startWorkloadIdentity(): Promise<WorkloadIdentity> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: 'w1', alg: 'ES256', use: 'sig' };
  const body = JSON.stringify({ keys: [publicJwk] });
  const server: Server = createServer((req, res) => {
    if (req.url !== '/jwks') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    jwksUrl: `http://127.0.0.1:${port}/jwks`,
    publicJwk,
    mint: () => signWorkloadToken(privateKey),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function signWorkloadToken(key: CryptoKey): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'w1', typ: 'JWT' })
    .setIssuer(WORKLOAD_ISSUER)
    .setAudience(WORKLOAD_AUDIENCE)
    .setSubject(WORKLOAD_SUBJECT)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(key);
}

/**
 * Pre-minted tokens handed out once each. Minting happens between measured points, never
 * during one; when a point outruns the pool it wraps around and counts the reuse.
 */
export class TokenPool {
  readonly #tokens: string[] = [];
  #next = 0;
  reused = 0;

  constructor(readonly mintOne: () => Promise<string>) {}

  get remaining(): number {
    return this.#tokens.length - this.#next;
  }

  /** Mints until at least `count` unused tokens are ready. */
  async ensure(count: number): Promise<void> {
    const missing = count - this.remaining;
    for (let i = 0; i < missing; i += 1) this.#tokens.push(await this.mintOne());
  }

  take(): string {
    if (this.#next >= this.#tokens.length) {
      this.reused += 1;
      const token = this.#tokens[this.reused % this.#tokens.length];
      if (token === undefined) throw new Error('token pool is empty');
      return token;
    }
    const token = this.#tokens[this.#next];
    this.#next += 1;
    if (token === undefined) throw new Error('token pool is empty');
    return token;
  }

  /** Drops the used tokens so memory stays bounded across points. */
  compact(): void {
    this.#tokens.splice(0, this.#next);
    this.#next = 0;
    this.reused = 0;
  }
}
