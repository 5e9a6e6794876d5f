import { describe, expect, it } from 'vitest';
import {
  DownstreamExchangeError,
  exchangeForDownstream,
  type McpCaller,
  mcpTaskId,
} from '../../../src/mcp/index.js';

const caller = { token: 'caller.access.token', subject: 'agent-a' } as McpCaller;

function recordingFetch(answer: Response) {
  const sent: { url: string; form: URLSearchParams; redirect: unknown }[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    sent.push({
      url: String(input),
      form: new URLSearchParams(String(init?.body)),
      redirect: init?.redirect,
    });
    return answer;
  };
  return { sent, fetchImpl };
}

const request = (fetchImpl: typeof fetch) => ({
  brokerUrl: 'https://broker.test.example/',
  subjectToken: () => 'server.identity.token',
  caller,
  target: 'github-acme',
  scope: 'repositories=acme/api permissions.contents=read',
  task: { id: 'mcp:s1:1:abc', intent: 'read-code', tool: 'read_file' },
  fetch: fetchImpl,
});

describe('exchangeForDownstream', () => {
  it('sends the caller’s token as actor_token and this server as the subject', async () => {
    const credential = { token: 'ghs_x', repositories: ['acme/api'] };
    const { sent, fetchImpl } = recordingFetch(
      Response.json({
        access_token: JSON.stringify(credential),
        issued_token_type: 'urn:jit-broker:params:oauth:token-type:credential',
        token_type: 'N_A',
        lease_id: 'lse_1',
        expires_at: '2030-01-01T00:00:00.000Z',
      }),
    );
    const issued = await exchangeForDownstream(request(fetchImpl));
    expect(issued).toEqual({
      accessToken: undefined,
      credential,
      leaseId: 'lse_1',
      expiresAt: new Date('2030-01-01T00:00:00.000Z'),
      taskId: 'mcp:s1:1:abc',
    });
    expect(sent[0]?.url).toBe('https://broker.test.example/oauth/token');
    expect(sent[0]?.redirect).toBe('error');
    expect(Object.fromEntries(sent[0]?.form ?? [])).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: 'server.identity.token',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      actor_token: 'caller.access.token',
      actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      resource: 'github-acme',
      scope: 'repositories=acme/api permissions.contents=read',
      task_id: 'mcp:s1:1:abc',
      task_intent: 'read-code',
      task_tool: 'read_file',
    });
  });

  it('a refusal keeps the error code and nothing the body echoes', async () => {
    const { fetchImpl } = recordingFetch(
      Response.json(
        { error: 'invalid_grant', error_description: 'caller.access.token was refused' },
        { status: 400 },
      ),
    );
    const err = await exchangeForDownstream(request(fetchImpl)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownstreamExchangeError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_grant' });
    expect(String((err as Error).message)).not.toContain('caller.access.token');
  });
});

describe('mcpTaskId', () => {
  it('is in the broker grammar and differs for the same session and request id', () => {
    const a = mcpTaskId('2b1e5c1e-1d7c-4c1a-9d1c-3f6f1f0b7a11', 1);
    const b = mcpTaskId('2b1e5c1e-1d7c-4c1a-9d1c-3f6f1f0b7a11', 1);
    expect(a).toMatch(/^mcp:2b1e5c1e-1d7c-4c1a-9d1c-3f6f1f0b7a11:1:[A-Za-z0-9_-]{11}$/);
    expect(a).not.toBe(b);
  });

  it('hashes parts outside the grammar', () => {
    const id = mcpTaskId(
      undefined,
      'id with spaces and a very long tail that goes on and on and on',
    );
    expect(id).toMatch(/^mcp:stateless:[A-Za-z0-9_-]{32}:[A-Za-z0-9_-]{11}$/);
  });
});
