import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { type ProfileIssuers, profileIssuers } from '../helpers/profile-issuers.js';

/**
 * The repository's GitHub Action (action.yml) run the way the runner runs it: `action/main.js`
 * and `action/post.js` as node processes with INPUT_* variables, runner files, and an OIDC
 * token endpoint, against a broker listening on a real socket.
 */
const run = promisify(execFile);
const ACTION = join(import.meta.dirname, '../../action');
const REQUEST_TOKEN = 'runner-request-token';

let h: Harness;
let issuers: ProfileIssuers;
let tokenEndpoint: Server;
let tokenUrl: string;
/** Audiences the runner's token endpoint was asked for, in order. */
const audiences: string[] = [];
let work: string;

beforeAll(async () => {
  issuers = await profileIssuers();
  // issuers.configure maps a github-actions identity of repository 123456 to `ci-agent` and
  // lets it read tickets for the `triage` intent.
  h = await startHarness({ listen: true, configure: (raw) => issuers.configure(raw) });
  // Plays ACTIONS_ID_TOKEN_REQUEST_URL: checks the runner's request token as GitHub does and
  // answers `{ value }` with a token for the requested audience.
  tokenEndpoint = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://runner');
    if (req.headers.authorization !== `Bearer ${REQUEST_TOKEN}`) {
      res.writeHead(401).end();
      return;
    }
    const audience = url.searchParams.get('audience') ?? '';
    audiences.push(audience);
    issuers.ghToken({ aud: audience }).then(
      (value) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value })),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => tokenEndpoint.listen(0, '127.0.0.1', resolve));
  const { port } = tokenEndpoint.address() as AddressInfo;
  tokenUrl = `http://127.0.0.1:${port}/_apis/distributedtask/token?api-version=2.0`;
});

afterAll(async () => {
  await new Promise((resolve) => tokenEndpoint.close(resolve));
  await h.close();
  issuers.remove();
});

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'jit-gha-'));
  for (const file of ['output', 'env', 'state']) writeFileSync(join(work, file), '');
  audiences.length = 0;
  return () => rmSync(work, { recursive: true, force: true });
});

/** The runner's environment for one step: inputs, runner files, the OIDC request pair. */
function stepEnv(inputs: Record<string, string>, extra: Record<string, string> = {}) {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: join(work, 'output'),
    GITHUB_ENV: join(work, 'env'),
    GITHUB_STATE: join(work, 'state'),
    ACTIONS_ID_TOKEN_REQUEST_URL: tokenUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
    ...extra,
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  return env;
}

async function step(script: 'main.js' | 'post.js', env: Record<string, string>) {
  try {
    const { stdout } = await run(process.execPath, [join(ACTION, script)], { env });
    return { code: 0, stdout };
  } catch (err) {
    const failed = err as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}

/** Parses a runner file of `name<<delimiter` records, as the runner does after the step. */
function records(file: 'output' | 'env' | 'state'): Record<string, string> {
  const lines = readFileSync(join(work, file), 'utf8').split('\n');
  const found: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<]+)<<(.+)$/.exec(lines[i] ?? '');
    if (match === null) continue;
    const [, name, delimiter] = match as unknown as [string, string, string];
    const end = lines.indexOf(delimiter, i + 1);
    found[name] = lines.slice(i + 1, end).join('\n');
    i = end;
  }
  return found;
}

async function introspect(token: string): Promise<Record<string, unknown>> {
  const res = await h.request('/v1/introspect', {
    method: 'POST',
    token: await h.workloadToken('spiffe://test/tickets-api'),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const INPUTS = {
  'broker-url': '',
  target: 'tickets',
  scope: 'tickets:read',
  intent: 'triage',
  'task-id': '1001-triage',
  audience: 'jit-broker',
  'env-name': 'TICKETS_TOKEN',
};

describe('the GitHub Action', () => {
  it('gets a masked credential with the job token, exports it, and revokes its lease in post', async () => {
    const inputs = { ...INPUTS, 'broker-url': h.broker.url };
    const main = await step('main.js', stepEnv(inputs));
    expect(main.code, main.stdout).toBe(0);

    const outputs = records('output');
    const credential = outputs.credential as string;
    expect(credential).toBeTruthy();
    expect(main.stdout).toContain(`::add-mask::${credential}\n`);
    // The credential appears in the log only inside the mask command.
    expect(main.stdout.split(`::add-mask::${credential}`).join('')).not.toContain(credential);
    expect(records('env')).toEqual({ TICKETS_TOKEN: credential });
    expect(outputs['lease-id']).toMatch(/^lse_/);
    expect(outputs['token-type']).toBe('urn:ietf:params:oauth:token-type:jwt');
    expect(audiences).toEqual(['jit-broker']);

    expect(await introspect(credential)).toMatchObject({
      active: true,
      jti: outputs['lease-id'],
      sub: 'ci-agent',
      scope: 'tickets:read',
    });
    expect(decodeJwt(credential).aud).toBe('https://tickets.test.example');

    const state = records('state');
    expect(state).toEqual({ lease_id: outputs['lease-id'] });
    // The runner hands saved state to the post step as STATE_<name>.
    const post = await step('post.js', stepEnv(inputs, { STATE_lease_id: state.lease_id ?? '' }));
    expect(post.code, post.stdout).toBe(0);
    expect(post.stdout).toContain(`lease ${outputs['lease-id']} revoked`);
    expect(audiences).toEqual(['jit-broker', 'jit-broker']);
    expect(await introspect(credential)).toEqual({ active: false });

    const lease = await h.request(`/v1/leases/${outputs['lease-id']}`, {
      token: await h.operatorToken(['viewer']),
    });
    expect(((await lease.json()) as { state: string }).state).toBe('revoked');
  });

  it('fails the step and issues nothing when the policy denies the request', async () => {
    const inputs = { ...INPUTS, 'broker-url': h.broker.url, intent: 'deploy' };
    const main = await step('main.js', stepEnv(inputs));
    expect(main.code).toBe(1);
    expect(main.stdout).toMatch(
      /::error::jit-broker: the broker refused the exchange \(HTTP 400: unauthorized_client/,
    );
    expect(records('output')).toEqual({});
    expect(records('state')).toEqual({});
    // Nothing to revoke: post succeeds without asking for a token.
    const post = await step('post.js', stepEnv(inputs));
    expect(post.code).toBe(0);
    expect(audiences).toEqual(['jit-broker']);
  });

  it('fails with a hint when the job may not request an OIDC token', async () => {
    const env = stepEnv({ ...INPUTS, 'broker-url': h.broker.url });
    delete env.ACTIONS_ID_TOKEN_REQUEST_URL;
    delete env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    const main = await step('main.js', env);
    expect(main.code).toBe(1);
    expect(main.stdout).toContain('id-token: write');
  });

  it('refuses to send the job token over plain http to a non-loopback broker', async () => {
    const main = await step(
      'main.js',
      stepEnv({ ...INPUTS, 'broker-url': 'http://broker.test.example:8080' }),
    );
    expect(main.code).toBe(1);
    expect(main.stdout).toContain('broker-url must be https');
    expect(audiences).toEqual([]);
  });
});
