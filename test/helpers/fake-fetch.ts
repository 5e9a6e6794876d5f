/** A scripted `fetch`: each call takes the next responder and is recorded. */
export interface RecordedCall {
  url: string;
  method: string;
  headers: Headers;
  body: string | undefined;
  signal: AbortSignal | undefined;
}

type Responder = Response | ((call: RecordedCall) => Response | Promise<Response>);

export function fakeFetch(...responders: Responder[]) {
  const calls: RecordedCall[] = [];
  const queue = [...responders];
  const fetch = async (input: string | URL | Request, init: RequestInit = {}) => {
    const call: RecordedCall = {
      url: String(input),
      method: init.method ?? 'GET',
      headers: new Headers(init.headers),
      body: typeof init.body === 'string' ? init.body : undefined,
      signal: init.signal ?? undefined,
    };
    calls.push(call);
    const next = queue.shift();
    if (next === undefined) throw new Error(`unexpected call ${call.method} ${call.url}`);
    return typeof next === 'function' ? next(call) : next;
  };
  return { fetch: fetch as typeof globalThis.fetch, calls };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export function problem(
  status: number,
  code: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  return new Response(
    JSON.stringify({
      type: `https://jit-broker.dev/problems/${code}`,
      title: code,
      status,
      code,
      detail: `detail of ${code}`,
      request_id: 'req_test',
      ...extra,
    }),
    { status, headers: { 'content-type': 'application/problem+json', ...headers } },
  );
}

export const CREDENTIAL_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LWNyZWRlbnRpYWw.c2ln';
export const WORKLOAD_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.d29ya2xvYWQ.d2w';

export function issued(overrides: Record<string, unknown> = {}) {
  return {
    lease_id: 'lse_01',
    target: 'tickets',
    provider: 'jwt',
    workload: 'agent-a',
    scope: { scopes: ['tickets:read'] },
    task: { id: 'task-1', intent: 'triage' },
    issued_at: '2030-01-01T00:00:00.000Z',
    expires_at: '2030-01-01T00:05:00.000Z',
    credential: {
      token: CREDENTIAL_TOKEN,
      token_type: 'Bearer',
      audience: 'https://tickets.test.example',
      expires_at: '2030-01-01T00:05:00.000Z',
    },
    ...overrides,
  };
}

export const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'task-1', intent: 'triage' },
};
