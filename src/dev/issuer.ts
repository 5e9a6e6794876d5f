import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

/**
 * A throwaway OIDC-style issuer for `jit-broker dev` only: it signs demo workload and
 * operator tokens for anyone who asks, so it binds to loopback and `serve` never starts it.
 */
export interface DevIssuer {
  url: string;
  workloadAudience: string;
  operatorAudience: string;
  close(): Promise<void>;
}

export async function startDevIssuer(options: {
  port?: number;
  workloadAudience: string;
  operatorAudience: string;
  /** Workload name → token subject. */
  subjects: Record<string, string>;
}): Promise<DevIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'dev-1', alg: 'ES256', use: 'sig' };
  let issuer = '';

  const sign = (claims: Record<string, unknown>, subject: string, audience: string) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'dev-1', typ: 'JWT' })
      .setIssuer(issuer)
      .setSubject(subject)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', issuer);
      const send = (status: number, body: string, type = 'text/plain') => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      };
      if (req.method === 'GET' && url.pathname === '/jwks.json') {
        return send(200, JSON.stringify({ keys: [jwk] }), 'application/json');
      }
      const workload = /^\/token\/([a-z0-9._-]+)$/.exec(url.pathname)?.[1];
      if (req.method === 'POST' && workload) {
        const subject = options.subjects[workload];
        if (!subject) return send(404, `no demo workload ${workload}\n`);
        return send(200, `${await sign({}, subject, options.workloadAudience)}\n`);
      }
      const role = /^\/operator-token\/(viewer|revoker|admin)$/.exec(url.pathname)?.[1];
      if (req.method === 'POST' && role) {
        return send(
          200,
          `${await sign({ roles: [role] }, `dev-operator-${role}`, options.operatorAudience)}\n`,
        );
      }
      return send(404, 'POST /token/<workload> or /operator-token/<viewer|revoker|admin>\n');
    })().catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: issuer,
    workloadAudience: options.workloadAudience,
    operatorAudience: options.operatorAudience,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
