import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fetchableUrl, fetchJson } from '../../../src/identity/fetch-json.js';
import { rejectionOf, TestServer } from '../../helpers/identity-support.js';

let server: TestServer;

beforeEach(async () => {
  server = await new TestServer().start();
});

afterEach(async () => {
  await server.stop();
});

const policy = { fetch: globalThis.fetch, allowInsecureLoopback: true };

describe('fetchJson', () => {
  it('returns a JSON object', async () => {
    server.json('/doc', () => ({ a: 1 }));
    expect(await fetchJson(`${server.origin}/doc`, policy)).toEqual({ a: 1 });
  });

  it('gives up after its time limit', async () => {
    server.routes.set('/slow', () => {
      // never answers
    });
    const err = await rejectionOf(
      fetchJson(`${server.origin}/slow`, { ...policy, timeoutMs: 200 }),
    );
    expect(err.message).toContain('failed');
  });

  it('refuses a body over the cap, declared or streamed', async () => {
    server.json('/big', () => ({ pad: 'x'.repeat(2_000) }));
    server.routes.set('/chunked', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"pad":"');
      res.write('x'.repeat(2_000));
      res.end('"}');
    });
    for (const path of ['/big', '/chunked']) {
      const err = await rejectionOf(
        fetchJson(`${server.origin}${path}`, { ...policy, maxBytes: 1_000 }),
      );
      expect(err.message).toContain('larger than 1000 bytes');
    }
  });

  it('refuses JSON that is not an object', async () => {
    server.json('/list', () => [1, 2]);
    await expect(fetchJson(`${server.origin}/list`, policy)).rejects.toThrow('not a JSON object');
  });
});

describe('fetchableUrl', () => {
  it('allows https, and http only to loopback when allowed', () => {
    expect(fetchableUrl('https://idp.example/jwks', false).host).toBe('idp.example');
    expect(() => fetchableUrl('http://127.0.0.1/jwks', false)).toThrow(TypeError);
    for (const ok of [
      'http://127.0.0.1/',
      'http://127.1.2.3/',
      'http://localhost/',
      'http://[::1]/',
    ]) {
      expect(() => fetchableUrl(ok, true)).not.toThrow();
    }
    for (const bad of [
      'http://10.0.0.1/',
      'http://127.0.0.1.evil.example/',
      'http://localhost.evil.example/',
      'ftp://127.0.0.1/',
      'file:///etc/passwd',
      'https://user:pass@idp.example/',
    ]) {
      expect(() => fetchableUrl(bad, true)).toThrow(TypeError);
    }
  });
});
