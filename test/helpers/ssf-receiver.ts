import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
  type ProtectedHeaderParameters,
} from 'jose';

export interface ReceivedSet {
  readonly raw: string;
  readonly header: ProtectedHeaderParameters;
  readonly claims: JWTPayload & {
    events: Record<string, Record<string, unknown>>;
    sub_id: Record<string, unknown>;
    txn: string;
    jit: { workload: string; lease_id?: string; task_id?: string };
  };
  readonly authorization: string | undefined;
}

export interface SsfTestReceiver {
  readonly url: string;
  /** SETs whose signature, `typ`, `iss` and `aud` verified, in arrival order. */
  readonly received: ReceivedSet[];
  /** Pushes refused with the RFC 8935 error they got. */
  readonly refused: string[];
  /** While true every push is answered 503 (counted in `unavailable`). */
  down: boolean;
  unavailable: number;
  /** The first SET received (or already received) that `matches`. */
  next(matches: (set: ReceivedSet) => boolean): Promise<ReceivedSet>;
  close(): Promise<void>;
}

/**
 * An SSF push receiver (RFC 8935) as a real one behaves: it checks the media type, verifies
 * the SET's signature with the transmitter's published keys, its `typ`, `iss` and its own
 * `aud`, answers 202, or 400 with the RFC 8935 error JSON.
 */
export async function startSsfReceiver(options: {
  issuer: string;
  audience: string;
  /** The transmitter's JWKS (read when the first SET arrives). */
  keys: () => Promise<JSONWebKeySet>;
}): Promise<SsfTestReceiver> {
  const received: ReceivedSet[] = [];
  const refused: string[] = [];
  const waiters = new Set<{
    matches: (s: ReceivedSet) => boolean;
    resolve: (s: ReceivedSet) => void;
  }>();
  let jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  const state = { down: false, unavailable: 0 };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        if (state.down) {
          state.unavailable++;
          res.writeHead(503).end();
          return;
        }
        const refuse = (err: string) => {
          refused.push(err);
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ err, description: err }));
        };
        if (req.method !== 'POST' || req.headers['content-type'] !== 'application/secevent+jwt') {
          refuse('invalid_request');
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        jwks ??= createLocalJWKSet(await options.keys());
        try {
          const { payload } = await jwtVerify(raw, jwks, {
            issuer: options.issuer,
            audience: options.audience,
            typ: 'secevent+jwt',
          });
          const set: ReceivedSet = {
            raw,
            header: decodeProtectedHeader(raw),
            claims: payload as ReceivedSet['claims'],
            authorization: req.headers.authorization,
          };
          received.push(set);
          for (const w of waiters) {
            if (w.matches(set)) {
              waiters.delete(w);
              w.resolve(set);
            }
          }
          res.writeHead(202).end();
        } catch (err) {
          const claim = (err as { claim?: string }).claim;
          refuse(
            claim === 'aud'
              ? 'invalid_audience'
              : claim === 'iss'
                ? 'invalid_issuer'
                : 'invalid_key',
          );
        }
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    received,
    refused,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    get unavailable() {
      return state.unavailable;
    },
    set unavailable(value: number) {
      state.unavailable = value;
    },
    next(matches) {
      const already = received.find(matches);
      if (already !== undefined) return Promise.resolve(already);
      return new Promise((resolve) => waiters.add({ matches, resolve }));
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
