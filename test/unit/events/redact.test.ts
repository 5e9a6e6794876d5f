import { describe, expect, it } from 'vitest';
import { isSecretKey, REDACTED, redactEvent } from '../../../src/events/redact.js';
import type { EventInput } from '../../../src/events/types.js';

const base: EventInput = { type: 'credential.issued', outcome: 'success' };

describe('redactEvent', () => {
  it('redacts a nested password in scope and counts it', () => {
    const { input, redacted } = redactEvent({
      ...base,
      scope: { database: 'orders', login: { user: 'app', password: 'hunter2' } },
    });
    expect(input.scope).toEqual({ database: 'orders', login: { user: 'app', password: REDACTED } });
    expect(redacted).toBe(1);
    expect(JSON.stringify(input)).not.toContain('hunter2');
  });

  it('keeps token_sha256, at the top and nested in detail', () => {
    const digest = 'a'.repeat(64);
    const { input, redacted } = redactEvent({
      ...base,
      token_sha256: digest,
      detail: { caller: { token_sha256: digest } },
    });
    expect(input.token_sha256).toBe(digest);
    expect(input.detail).toEqual({ caller: { token_sha256: digest } });
    expect(redacted).toBe(0);
  });

  it.each([
    'credential',
    'access_token',
    'id_token',
    'Password',
    'client_secret',
    'private_key',
    'privateKey',
    'revocation_handle',
    'Authorization',
    'api_key',
  ])('redacts detail.%s whatever its value', (key) => {
    const { input, redacted } = redactEvent({
      ...base,
      detail: { [key]: { nested: 'value' }, ok: 1 },
    });
    expect(input.detail).toEqual({ [key]: REDACTED, ok: 1 });
    expect(redacted).toBe(1);
  });

  it('redacts inside arrays', () => {
    const { input, redacted } = redactEvent({
      ...base,
      scope: [
        { name: 'a', secret: 's1' },
        { name: 'b', secret: 's2' },
      ],
    });
    expect(input.scope).toEqual([
      { name: 'a', secret: REDACTED },
      { name: 'b', secret: REDACTED },
    ]);
    expect(redacted).toBe(2);
  });

  it('scrubs secret-shaped text from free-text fields', () => {
    const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const ghToken = `ghs_${'A1b2C3d4'.repeat(5)}`;
    const { input, redacted } = redactEvent({
      ...base,
      reason: `provider said: bad token ${jwt}; retry with ${ghToken}`,
      detail: {
        header: 'Bearer abc.def-ghi',
        dsn: 'postgres://app:s3cr3t@db:5432/orders',
        pem: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----',
      },
    });
    const text = JSON.stringify(input);
    for (const secret of [jwt, ghToken, 'abc.def-ghi', 's3cr3t', 'MIIB']) {
      expect(text).not.toContain(secret);
    }
    expect(input.reason).toBe(`provider said: bad token ${REDACTED}; retry with ${REDACTED}`);
    expect(input.detail).toMatchObject({
      header: `Bearer ${REDACTED}`,
      dsn: `postgres://app:${REDACTED}@db:5432/orders`,
    });
    expect(redacted).toBe(5);
  });

  it('scrubs free-text fields but leaves identifier fields as the broker made them', () => {
    // An identifier field is only ever filled with names and ids the broker generated or
    // matched against its configuration, so it is not scanned for secret shapes.
    const bearer = 'Bearer abc.def-ghi';
    const { input, redacted } = redactEvent({
      ...base,
      lease_id: bearer,
      workload: bearer,
      target: bearer,
      policy: bearer,
      request_id: bearer,
      subject: bearer,
      actor: bearer,
      task: { id: bearer, intent: bearer, tool: bearer },
    });
    expect(input).toMatchObject({
      lease_id: bearer,
      workload: bearer,
      target: bearer,
      policy: bearer,
      request_id: bearer,
      subject: `Bearer ${REDACTED}`,
      actor: `Bearer ${REDACTED}`,
      task: { id: `Bearer ${REDACTED}`, intent: `Bearer ${REDACTED}`, tool: `Bearer ${REDACTED}` },
    });
    expect(redacted).toBe(5);
  });

  it('still caps identifier fields', () => {
    const { input, truncated } = redactEvent({ ...base, workload: 'w'.repeat(5000) });
    expect(input.workload?.length).toBeLessThan(1100);
    expect(truncated).toBe(1);
  });

  it('finds each secret shape wherever it sits in free text', () => {
    // The quick pre-check must not let through anything the patterns would catch.
    const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJl';
    for (const [text, secret] of [
      [`x${jwt}`, jwt],
      ['-----BEGIN RSA PRIVATE KEY-----\nMIIB', 'MIIB'],
      [`token=ghp_${'a'.repeat(36)}`, 'a'.repeat(36)],
      [`pat github_pat_${'b'.repeat(40)}`, 'b'.repeat(40)],
      ['authorization: basic dXNlcjpwYXNz', 'dXNlcjpwYXNz'],
      ['BEARER\tabc', 'abc'],
      ['redis://default:pw123@cache:6379', 'pw123'],
      ['HTTPS://u:Secret9@host/x', 'Secret9'],
    ] as const) {
      const { input } = redactEvent({ ...base, reason: text });
      expect(input.reason).not.toContain(secret);
      expect(input.reason).toContain(REDACTED);
    }
  });

  it('caps long strings, including task text, and counts each cut', () => {
    const { input, truncated } = redactEvent({
      ...base,
      task: { id: 't1', intent: 'x'.repeat(100_000) },
      scope: { note: 'y'.repeat(2000) },
    });
    expect(input.task?.intent.startsWith('x'.repeat(1024))).toBe(true);
    expect(input.task?.intent.length).toBeLessThan(1100);
    expect((input.scope as { note: string }).note.length).toBeLessThan(1100);
    expect(truncated).toBe(2);
  });

  it('caps arrays and depth', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 20; i += 1) deep = { next: deep };
    const { input, truncated } = redactEvent(
      { ...base, scope: { list: Array.from({ length: 500 }, (_, i) => i), deep } },
      { maxString: 1024, maxArrayItems: 100, maxObjectKeys: 100, maxDepth: 8 },
    );
    const scope = input.scope as { list: number[] };
    expect(scope.list).toHaveLength(100);
    expect(JSON.stringify(input)).not.toContain('bottom');
    expect(truncated).toBe(2);
  });

  it('makes the input JSON-clean', () => {
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    const { input } = redactEvent({
      ...base,
      request_id: undefined,
      scope: {
        gone: undefined,
        nan: Number.NaN,
        big: 12n,
        when: new Date('2025-01-01T00:00:00Z'),
        fn: () => 1,
        list: [undefined, 1],
        cyclic,
      },
    } as unknown as EventInput);
    expect('request_id' in input).toBe(false);
    expect(input.scope).toEqual({
      nan: null,
      big: '12',
      when: '2025-01-01T00:00:00.000Z',
      list: [null, 1],
      cyclic: { name: 'c', self: '[circular]' },
    });
  });

  it('drops fields that are not part of EventInput', () => {
    const smuggled = { ...base, credential: 'AKIA-secret', id: 'evt_forged', seq: 99 };
    const { input } = redactEvent(smuggled as EventInput);
    expect(input).toEqual(base);
  });

  it('does not let a __proto__ key change the prototype', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    const { input } = redactEvent({ ...base, detail: parsed as Record<string, unknown> });
    expect(Object.getPrototypeOf(input.detail)).toBe(Object.prototype);
    expect((input.detail as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.keys(input.detail ?? {})).toEqual(['__proto__', 'a']);
  });

  it('keeps only finite counts and does not mutate its input', () => {
    const original: EventInput = {
      ...base,
      counts: { leases: 3, bad: Number.NaN },
      scope: { password: 'p' },
    };
    const snapshot = structuredClone(original);
    const { input } = redactEvent(original);
    expect(input.counts).toEqual({ leases: 3 });
    expect(original).toEqual(snapshot);
  });
});

describe('isSecretKey', () => {
  it('flags secret names and spares ordinary ones', () => {
    expect(isSecretKey('token_sha256')).toBe(false);
    expect(isSecretKey('public_key')).toBe(false);
    expect(isSecretKey('repo')).toBe(false);
    expect(isSecretKey('token')).toBe(true);
  });
});
