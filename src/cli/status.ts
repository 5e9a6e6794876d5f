import type { Command } from 'commander';
import { BREAK_GLASS_PREFIX } from '../identity/break-glass.js';
import { CLI_EXIT } from './exit-codes.js';
import { CliError, type OperatorIo } from './io.js';
import {
  brokerUrl,
  callBroker,
  httpError,
  openBrokerRequest,
  readBody,
} from './lib/broker-request.js';
import { show, target } from './lib/context.js';
import { table } from './lib/output.js';

interface Readiness {
  status: string;
  checks?: Record<string, { ok: boolean; detail?: string }>;
}

interface Status {
  url: string;
  reachable: boolean;
  /** The broker reports no version today; null says so rather than guessing. */
  server_version: string | null;
  /** `GET /v1/freeze` (viewer): whether issuance is frozen, and by whom, when and why. */
  freeze: Freeze | null;
  readiness: Readiness | null;
  token: TokenView | null;
}

interface Freeze {
  frozen: boolean;
  by?: string;
  at?: string;
  reason?: string;
}

interface TokenView {
  kind: 'jwt' | 'break-glass' | 'opaque';
  /** Read without checking the signature: what the token claims, not what the broker accepts. */
  unverified_claims?: Record<string, unknown>;
}

/** `status`: is the broker there, is it ready, and who does the token say it is. */
export function registerStatus(program: Command, io: OperatorIo): void {
  program
    .command('status')
    .description(
      'Reachability, readiness with every check (GET /v1/readiness, viewer), and the token\u2019s unverified claims; exits 1 when not ready',
    )
    .action(async (_opts: unknown, command: Command) => {
      const broker = target(io, command, { token: false });
      await callBroker(broker, { method: 'GET', path: '/healthz', authenticate: false });
      let readiness: Readiness | null = null;
      let freeze: Freeze | null = null;
      if (broker.token !== undefined) {
        freeze = (await callBroker(broker, { method: 'GET', path: '/v1/freeze' })) as Freeze;
        const res = await openBrokerRequest(broker, { method: 'GET', path: '/v1/readiness' });
        const text = await readBody(res, broker);
        const code = res.statusCode ?? 0;
        // 503 is an answer here, not a failure: it carries the checks that failed.
        if (code !== 200 && code !== 503) {
          throw httpError(
            code,
            res.headers['content-type'],
            text,
            brokerUrl(broker.base, '/v1/readiness'),
          );
        }
        readiness = JSON.parse(text) as Readiness;
      }
      const status: Status = {
        url: broker.base.href,
        reachable: true,
        server_version: null,
        freeze,
        readiness,
        token: broker.token === undefined ? null : tokenView(broker.token),
      };
      show(io, command, status, () => statusTable(status));
      if (readiness !== null && readiness.status !== 'ready') {
        throw new CliError('the broker is not ready', CLI_EXIT.failure);
      }
    });
}

function statusTable(status: Status): string[] {
  const rows: string[][] = [
    ['broker:', status.url],
    ['reachable:', 'yes'],
    ['server version:', status.server_version ?? '(not reported by the broker)'],
    ['frozen:', frozenText(status.freeze)],
    ['readiness:', status.readiness?.status ?? '(needs a token)'],
  ];
  for (const [name, check] of Object.entries(status.readiness?.checks ?? {})) {
    rows.push([
      `  ${name}:`,
      `${check.ok ? 'ok' : 'FAILING'}${check.detail ? ` (${check.detail})` : ''}`,
    ]);
  }
  const token = status.token;
  if (token === null) rows.push(['token:', '(none)']);
  else if (token.unverified_claims === undefined) rows.push(['token:', token.kind]);
  else {
    rows.push(['token:', `${token.kind}, claims UNVERIFIED (as the token states them)`]);
    for (const key of ['iss', 'sub', 'aud', 'roles', 'exp']) {
      const value = token.unverified_claims[key];
      if (value === undefined) continue;
      const shown =
        key === 'exp' && typeof value === 'number'
          ? `${new Date(value * 1000).toISOString()}${value * 1000 < Date.now() ? ' (EXPIRED)' : ''}`
          : typeof value === 'string'
            ? value
            : JSON.stringify(value);
      rows.push([`  ${key}:`, shown]);
    }
  }
  return table(rows);
}

function frozenText(freeze: Freeze | null): string {
  if (freeze === null) return '(needs a token)';
  if (!freeze.frozen) return 'no';
  const since = freeze.at === undefined ? '' : ` since ${freeze.at}`;
  const by = freeze.by === undefined ? '' : ` by ${freeze.by}`;
  const why = freeze.reason === undefined ? '' : `: ${freeze.reason}`;
  return `YES${since}${by}${why}`;
}

/**
 * There is no whoami endpoint: what a JWT says about itself is all the CLI can show, and
 * it is labelled unverified. A break-glass token is opaque by design, and is never shown.
 */
function tokenView(token: string): TokenView {
  if (token.startsWith(BREAK_GLASS_PREFIX)) return { kind: 'break-glass' };
  const payload = token.split('.')[1];
  if (token.split('.').length !== 3 || payload === undefined) return { kind: 'opaque' };
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
      return { kind: 'opaque' };
    return { kind: 'jwt', unverified_claims: claims as Record<string, unknown> };
  } catch {
    return { kind: 'opaque' };
  }
}
