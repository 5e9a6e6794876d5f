import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect, type McpSession } from '../../examples/mcp-github-server/client.js';
import { MAX_REVOCATION_TTL_MS } from '../../src/mcp/options.js';
import { sleep } from '../helpers/broker-harness.js';
import { sha256 } from '../helpers/identity-support.js';
import { expectNoSecretOutput } from '../helpers/lease-http.js';
import {
  GITHUB_TARGET,
  MCP_SERVER_SUBJECT,
  type McpStack,
  startMcpStack,
} from '../helpers/mcp-stack.js';

/*
 * The MCP wiring end to end, with the real SDK on both sides: the agent's SDK client finds
 * the broker from the MCP server's 401 and metadata, gets its token with client credentials,
 * and calls read_file; the server exchanges the caller's token (as actor_token) for a GitHub
 * token scoped to one repository, against the GitHub fake, and ends the task after the call.
 */

const CACHE_TTL_MS = 300;

let stack: McpStack;
const seen: { method: string; url: string; status: number; form: URLSearchParams }[] = [];
const recordingFetch: typeof fetch = async (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  const response = await fetch(input, init);
  const body = init?.body;
  seen.push({
    method: init?.method ?? 'GET',
    url,
    status: response.status,
    form: new URLSearchParams(
      body instanceof URLSearchParams ? body : typeof body === 'string' ? body : '',
    ),
  });
  return response;
};

beforeAll(async () => {
  stack = await startMcpStack({ revocationCacheTtlMs: CACHE_TTL_MS });
});
afterAll(async () => {
  await stack?.close();
});

function agent(subject = 'agent-a', taskId = `agent-task-${subject}`): Promise<McpSession> {
  return connect({
    serverUrl: stack.resource,
    issuer: stack.brokerUrl,
    clientId: subject,
    identityToken: () => stack.h.workloadToken(`spiffe://test/${subject}`),
    task: { id: taskId, intent: 'mcp' },
    fetch: recordingFetch,
  });
}

function githubRequests(token: string) {
  return stack.github.requests.filter((r) => r.headers.authorization === `token ${token}`);
}

/** The GitHub token minted for a task: the one used by the requests after the last mint. */
function lastMint() {
  const mints = stack.github.requests.filter((r) => r.path.endsWith('/access_tokens'));
  return mints.at(-1);
}

const mcpCall = (token: string | undefined, headers: Record<string, string> = {}) =>
  fetch(stack.resource, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'raw', version: '1' },
      },
    }),
  });

describe('examples/mcp-github-server with the SDK client', () => {
  it('discovers the broker from the 401, gets a token by client credentials, reads a file with a one-repository token, and revokes it', async () => {
    seen.length = 0;
    const session = await agent();
    try {
      // Discovery as the MCP authorization spec has it: 401 → metadata → broker → token.
      const steps = seen.map((s) => `${s.method} ${new URL(s.url).pathname} ${s.status}`);
      expect(steps.slice(0, 5)).toEqual([
        'POST /mcp 401',
        'GET /.well-known/oauth-protected-resource/mcp 200',
        'GET /.well-known/oauth-authorization-server 200',
        'POST /oauth/token 200',
        'POST /mcp 200',
      ]);
      const tokenRequest = seen.find((s) => s.url.endsWith('/oauth/token'))?.form;
      expect(tokenRequest?.get('grant_type')).toBe('client_credentials');
      expect(tokenRequest?.get('resource')).toBe(stack.resource);
      expect(tokenRequest?.get('scope')).toBe('files:read');
      expect(tokenRequest?.get('client_assertion_type')).toBe(
        'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      );
      const accessToken = session.credentials.tokens()?.access_token ?? '';
      expect(decodeJwt(accessToken)).toMatchObject({
        aud: stack.resource,
        iss: stack.brokerUrl,
        scope: 'files:read',
        client_id: 'agent-a',
      });

      expect(await session.listTools()).toEqual(['read_file']);
      const mintsBefore = stack.github.requests.filter((r) =>
        r.path.endsWith('/access_tokens'),
      ).length;
      const file = await session.readFile('acme/api', 'docs/README.md');
      expect(file).toMatchObject({ isError: false, text: 'hello' });
      const { task } = file.structured as { task: string };
      expect(task).toMatch(/^mcp:[0-9a-f-]{36}:\d+:/);

      // One GitHub token for the call, for exactly that repository and contents: read…
      const mints = stack.github.requests.filter((r) => r.path.endsWith('/access_tokens'));
      expect(mints.length - mintsBefore).toBe(1);
      expect(lastMint()?.body).toEqual({
        repositories: ['api'],
        permissions: { contents: 'read' },
      });
      // …reused for both of the call's GitHub requests, and revoked when the call ended.
      const issued = (await stack.h.flushedEvents()).find(
        (e) => e.type === 'credential.issued' && e.task?.id === task,
      );
      expect(issued).toMatchObject({
        workload: 'mcp-github',
        target: GITHUB_TARGET,
        task: { id: task, intent: 'read-file', tool: 'read_file' },
      });
      const leaseId = issued?.lease_id ?? '';
      // The lease names the caller as the party the server acted for (the actor_token's sub).
      const lease = await stack.h.request(`/v1/leases/${leaseId}`, {
        token: await stack.h.workloadToken(MCP_SERVER_SUBJECT),
      });
      expect(await lease.json()).toMatchObject({ actor: decodeJwt(accessToken).sub });
      await vi.waitFor(async () => {
        const events = await stack.h.flushedEvents();
        expect(events.some((e) => e.type === 'lease.revoked' && e.lease_id === leaseId)).toBe(true);
      });
      const githubToken = stack.github.requests
        .filter((r) => r.path === '/repos/acme/api')
        .at(-1)
        ?.headers.authorization?.replace(/^token /, '');
      expect(githubToken).toMatch(/^ghs_/);
      // Two reads with the one token of the task, then the broker revoking it.
      expect(githubRequests(githubToken ?? '').map((r) => `${r.method} ${r.path}`)).toEqual([
        'GET /repos/acme/api',
        'GET /repos/acme/api/contents/docs/README.md',
        'DELETE /installation/token',
      ]);
      expect(stack.github.liveTokens().map((t) => t.token)).not.toContain(githubToken);

      // The caller's token never reached GitHub, and no token reached the broker's output.
      expect(JSON.stringify(stack.github.requests)).not.toContain(accessToken);
      expectNoSecretOutput(stack.h, [accessToken, githubToken ?? '']);
    } finally {
      await session.close();
    }
  });

  it('every call is its own task with its own token, ended when the call ends', async () => {
    const session = await agent();
    try {
      const first = await session.readFile('acme/api', 'a.txt');
      const second = await session.readFile('acme/web', 'b.txt');
      const tasks = [first, second].map((f) => (f.structured as { task: string }).task);
      expect(new Set(tasks).size).toBe(2);
      expect(lastMint()?.body).toEqual({
        repositories: ['web'],
        permissions: { contents: 'read' },
      });
      await vi.waitFor(() => expect(stack.github.liveTokens()).toEqual([]));
    } finally {
      await session.close();
    }
  });

  it('a repository the policy does not cover, or a path out of the repository, gets no token', async () => {
    const session = await agent();
    try {
      const mints = () => stack.github.requests.filter((r) => r.path.endsWith('/access_tokens'));
      const before = mints().length;
      const foreign = await session.readFile('other-org/secrets', 'x');
      expect(foreign.isError).toBe(true);
      expect(foreign.text).toMatch(/^the broker refused the credential \(\w+\)$/);
      const traversal = await session.readFile('acme/api', '../../orgs/acme');
      expect(traversal).toMatchObject({ isError: true });
      expect(traversal.text).toContain('relative file path');
      expect(mints().length).toBe(before);
    } finally {
      await session.close();
    }
  });

  it('a revoked client token is refused once the guard’s cache bound has passed; the SDK client then gets a new one', async () => {
    const session = await agent();
    try {
      expect((await session.readFile('acme/api', 'c.txt')).isError).toBe(false);
      const revokedToken = session.credentials.tokens()?.access_token ?? '';
      const leaseId = decodeJwt(revokedToken).jti as string;
      const revoked = await stack.h.request(`/v1/leases/${leaseId}`, {
        method: 'DELETE',
        token: await stack.h.workloadToken('spiffe://test/agent-a'),
      });
      expect(revoked.status).toBeLessThan(300);

      await sleep(CACHE_TTL_MS + 50);
      stack.refusals.length = 0;
      const refused = await mcpCall(revokedToken);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(stack.refusals.map((r) => r.reason)).toEqual(['revoked']);

      // The SDK client meets the same 401 and gets a fresh token by client credentials.
      const again = await session.readFile('acme/api', 'd.txt');
      expect(again.isError).toBe(false);
      expect(session.credentials.tokens()?.access_token).not.toBe(revokedToken);
    } finally {
      await session.close();
    }
  });

  it('a token the broker issued for another resource is refused', async () => {
    const res = await stack.h.request('/v1/credentials', {
      method: 'POST',
      token: await stack.h.workloadToken('spiffe://test/agent-a'),
      json: {
        target: 'tickets',
        scope: { scopes: ['tickets:read'] },
        task: { id: 'other-resource', intent: 'triage' },
      },
    });
    const { credential } = (await res.json()) as { credential: { token: string } };
    stack.refusals.length = 0;
    const refused = await mcpCall(credential.token);
    expect(refused.status).toBe(401);
    expect(stack.refusals.map((r) => r.reason)).toEqual(['wrong_audience']);
  });

  it('a session belongs to the caller that opened it', async () => {
    const owner = await agent('agent-a');
    const other = await agent('agent-b');
    try {
      const sessionId = (owner.client.transport as { sessionId?: string } | undefined)?.sessionId;
      expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
      const otherToken = other.credentials.tokens()?.access_token ?? '';
      const hijack = await fetch(stack.resource, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${otherToken}`,
          'mcp-session-id': sessionId ?? '',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
      });
      expect(hijack.status).toBe(404);
    } finally {
      await owner.close();
      await other.close();
    }
  });

  it('refuses a foreign Origin before looking at the token', async () => {
    const session = await agent();
    try {
      const token = session.credentials.tokens()?.access_token ?? '';
      stack.refusals.length = 0;
      expect((await mcpCall(token, { origin: 'https://evil.example' })).status).toBe(403);
      expect(stack.refusals.map((r) => r.reason)).toEqual(['foreign_origin']);
    } finally {
      await session.close();
    }
  });
});

describe('examples/mcp-github-server: the broker itself refuses a revoked caller', () => {
  // The guard keeps an introspection answer for as long as it may: within that bound a revoked
  // token still passes the guard, and only the broker stands between it and a credential.
  let cached: McpStack;
  beforeAll(async () => {
    cached = await startMcpStack({ revocationCacheTtlMs: MAX_REVOCATION_TTL_MS });
  });
  afterAll(async () => {
    await cached?.close();
  });

  it('after the client token is revoked, the server’s downstream exchange is refused by the broker', async () => {
    const session = await connect({
      serverUrl: cached.resource,
      issuer: cached.brokerUrl,
      clientId: 'agent-a',
      identityToken: () => cached.h.workloadToken('spiffe://test/agent-a'),
      task: { id: 'agent-task-cached', intent: 'mcp' },
    });
    try {
      expect((await session.readFile('acme/api', 'a.txt')).isError).toBe(false);
      const revokedToken = session.credentials.tokens()?.access_token ?? '';
      const leaseId = decodeJwt(revokedToken).jti as string;
      const revoked = await cached.h.request(`/v1/leases/${leaseId}`, {
        method: 'DELETE',
        token: await cached.h.workloadToken('spiffe://test/agent-a'),
      });
      expect(revoked.status).toBeLessThan(300);
      const mints = () =>
        cached.github.requests.filter((r) => r.path.endsWith('/access_tokens')).length;
      const before = mints();
      cached.refusals.length = 0;

      const refused = await session.readFile('acme/api', 'b.txt');
      // The guard let the call in (its cached answer), the same token was still in use…
      expect(session.credentials.tokens()?.access_token).toBe(revokedToken);
      expect(cached.refusals).toEqual([]);
      // …and the broker refused the exchange: no GitHub token was minted.
      expect(refused).toMatchObject({
        isError: true,
        text: 'the broker refused the credential (invalid_grant)',
      });
      expect(mints()).toBe(before);
      const failed = (await cached.h.flushedEvents()).filter(
        (e) => e.type === 'auth.failed' && e.token_sha256 === sha256(revokedToken),
      );
      expect(failed.map((e) => [e.reason, (e.detail as { parameter?: string }).parameter])).toEqual(
        [['revoked', 'actor_token']],
      );
      expectNoSecretOutput(cached.h, [revokedToken]);
    } finally {
      await session.close();
    }
  });
});
