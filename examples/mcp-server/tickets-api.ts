import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JitBrokerClient } from '../../src/client/index.js';

/**
 * A stand-in for the real tickets service: a resource server that accepts only tokens the
 * broker says are active for its audience, asking `POST /v1/introspect` with its own
 * workload identity. A revoked lease is refused at once, not when the JWT expires.
 */
export interface TicketsApi {
  url: string;
  close(): Promise<void>;
}

const TICKETS = [
  { id: 'T-101', title: 'Login page returns 500 after deploy', status: 'open' },
  { id: 'T-102', title: 'Export to CSV drops the last row', status: 'open' },
  { id: 'T-103', title: 'Typo in the billing e-mail', status: 'triaged' },
];

export async function startTicketsApi(options: {
  /** The broker client authenticated as this resource server (dev: `demo-api`). */
  broker: JitBrokerClient;
  port?: number;
}): Promise<TicketsApi> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      if (req.method !== 'GET' || req.url !== '/tickets') return send(404, { error: 'not_found' });
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!token) return send(401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
      const seen = await options.broker.introspect(token);
      if (!seen.active) {
        return send(
          401,
          { error: 'invalid_token' },
          { 'www-authenticate': 'Bearer error="invalid_token"' },
        );
      }
      const scopes = typeof seen.scope === 'string' ? seen.scope.split(' ') : [];
      if (!scopes.includes('tickets:read')) {
        return send(
          403,
          { error: 'insufficient_scope' },
          { 'www-authenticate': 'Bearer error="insufficient_scope", scope="tickets:read"' },
        );
      }
      return send(200, { tickets: TICKETS });
    })().catch(() => send(502, { error: 'introspection_failed' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
