import { describe, expect, it } from 'vitest';
import { JitBrokerClient, JitBrokerError } from '../../../src/client/index.js';
import {
  CREDENTIAL_TOKEN,
  fakeFetch,
  issued,
  json,
  problem,
  REQUEST,
  WORKLOAD_TOKEN,
} from '../../helpers/fake-fetch.js';

const client = (fetch: typeof globalThis.fetch, token: () => string = () => WORKLOAD_TOKEN) =>
  new JitBrokerClient({ url: 'http://127.0.0.1:8080', token, fetch, timeoutMs: 50 });

async function failure(promise: Promise<unknown>): Promise<JitBrokerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JitBrokerError);
  return error as JitBrokerError;
}

/** Everything an error exposes when printed or logged. */
const printed = (e: JitBrokerError) =>
  [e.message, e.detail, e.stack ?? '', JSON.stringify(e), String(e.cause ?? '')].join('\n');

describe('JitBrokerError from problem documents', () => {
  it('carries status, code, detail, request id and policy reasons', async () => {
    const f = fakeFetch(
      problem(403, 'scope_exceeds_ceiling', {
        detail: 'tickets:admin is above the ceiling',
        request_id: 'req_abc',
        reasons: [{ code: 'scope_exceeds_ceiling', message: 'no', policy: 'agents-read-tickets' }],
      }),
    );
    const e = await failure(client(f.fetch).getCredential(REQUEST));
    expect(e.status).toBe(403);
    expect(e.code).toBe('scope_exceeds_ceiling');
    expect(e.detail).toBe('tickets:admin is above the ceiling');
    expect(e.requestId).toBe('req_abc');
    expect(e.retryAfter).toBeUndefined();
    expect(e.reasons).toEqual([
      { code: 'scope_exceeds_ceiling', message: 'no', policy: 'agents-read-tickets' },
    ]);
    expect(e.message).toContain('403 scope_exceeds_ceiling');
    expect(e.message).toContain('req_abc');
  });

  it('carries the invalid fields of a 422', async () => {
    const f = fakeFetch(
      problem(422, 'invalid_request', {
        errors: [{ path: 'task.id', message: 'task.id: 1-128 of …' }, { bogus: true }],
      }),
    );
    const e = await failure(client(f.fetch).getCredential(REQUEST));
    expect(e.status).toBe(422);
    expect(e.errors).toEqual([{ path: 'task.id', message: 'task.id: 1-128 of …' }]);
  });

  it('takes the request id from the header when the body has none', async () => {
    const f = fakeFetch(
      new Response(JSON.stringify({ code: 'lease_not_found', status: 404, detail: 'no' }), {
        status: 404,
        headers: { 'content-type': 'application/problem+json', 'x-request-id': 'req_hdr' },
      }),
    );
    const e = await failure(client(f.fetch).getLease('lse_x'));
    expect(e.code).toBe('lease_not_found');
    expect(e.requestId).toBe('req_hdr');
  });

  it('ignores a non-problem body, which may echo the request', async () => {
    const f = fakeFetch(
      new Response(`<html>Bad gateway; you sent Authorization: Bearer ${WORKLOAD_TOKEN}</html>`, {
        status: 502,
        headers: { 'content-type': 'text/html' },
      }),
    );
    const e = await failure(client(f.fetch).getCredential(REQUEST));
    expect(e.status).toBe(502);
    expect(e.code).toBe('http_error');
    expect(printed(e)).not.toContain(WORKLOAD_TOKEN);
  });
});

describe('secrets stay out of errors', () => {
  it('a malformed issuance answer names the field, not the credential', async () => {
    const f = fakeFetch(json(201, issued({ expires_at: 'not a date' })));
    const e = await failure(client(f.fetch).getCredential(REQUEST));
    expect(e.code).toBe('invalid_response');
    expect(e.message).toContain('expires_at');
    expect(printed(e)).not.toContain(CREDENTIAL_TOKEN);
    expect(printed(e)).not.toContain(WORKLOAD_TOKEN);
  });

  it('a success body that is not JSON is not quoted', async () => {
    const f = fakeFetch(new Response(`credential=${CREDENTIAL_TOKEN}`, { status: 201 }));
    const e = await failure(client(f.fetch).getCredential(REQUEST));
    expect(e.code).toBe('invalid_response');
    expect(printed(e)).not.toContain(CREDENTIAL_TOKEN);
  });

  it('a token that cannot be a header is refused before fetch, without quoting it', async () => {
    const f = fakeFetch();
    const bad = `${WORKLOAD_TOKEN}\r\nx-evil: 1`;
    const e = await failure(client(f.fetch, () => bad).getCredential(REQUEST));
    expect(e.code).toBe('token_unavailable');
    expect(e.status).toBe(0);
    expect(printed(e)).not.toContain(WORKLOAD_TOKEN);
    expect(f.calls).toHaveLength(0);
  });

  it('a failing token source becomes token_unavailable', async () => {
    const f = fakeFetch();
    const e = await failure(
      client(f.fetch, () => {
        throw new Error('ENOENT: /var/run/secrets/token');
      }).getCredential(REQUEST),
    );
    expect(e.code).toBe('token_unavailable');
    expect(f.calls).toHaveLength(0);
  });

  it('the introspected token does not appear in an introspection error', async () => {
    const f = fakeFetch(problem(422, 'invalid_request'));
    const e = await failure(client(f.fetch).introspect(CREDENTIAL_TOKEN));
    expect(e.status).toBe(422);
    expect(printed(e)).not.toContain(CREDENTIAL_TOKEN);
  });
});

describe('transport failures', () => {
  it('a network error is network_error with status 0 and is not retried', async () => {
    const f = fakeFetch(() => {
      throw new TypeError('fetch failed');
    });
    const e = await failure(client(f.fetch).getCredential(REQUEST));
    expect(e.code).toBe('network_error');
    expect(e.status).toBe(0);
    expect(f.calls).toHaveLength(1);
  });

  it('a broker that does not answer within timeoutMs is a timeout, not retried', async () => {
    const f = fakeFetch(
      (call) =>
        new Promise<Response>((_resolve, reject) => {
          call.signal?.addEventListener('abort', () => reject(call.signal?.reason));
        }),
    );
    const e = await failure(client(f.fetch).getCredential(REQUEST));
    expect(e.code).toBe('timeout');
    expect(f.calls).toHaveLength(1);
  });
});
