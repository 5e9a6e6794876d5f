import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../providers/provider.js';
import { asOAuthError } from '../../src/api/oauth/errors.js';
import { STATUS } from '../../src/api/problem.js';
import { mintFailure } from '../../src/errors.js';

/* A provider's mint error becomes the caller's answer by its code, whatever the provider. */

const SECRETISH = 'FATAL: password authentication failed for user "jit_admin" at 10.0.0.7';

describe('mintFailure', () => {
  it.each([
    [new ProviderError('invalid_scope', 'role "x" is not configured', false), 'scope_invalid', 422],
    [new ProviderError('provider_misconfigured', SECRETISH, false), 'provider_misconfigured', 502],
    [new ProviderError('provider_unavailable', SECRETISH, true), 'provider_unavailable', 503],
    // Not retryable: the target will not come back by waiting.
    [new ProviderError('provider_unavailable', SECRETISH, false), 'provider_failed', 502],
    [new ProviderError('provider_rejected', SECRETISH, true), 'provider_failed', 502],
    [new ProviderError('not_renewable', 'x', false), 'provider_failed', 502],
    [new Error(SECRETISH), 'provider_failed', 502],
    ['thrown text', 'provider_failed', 502],
  ] as const)('%s → %s %i', (err, code, status) => {
    const mapped = mintFailure('pg-app', err);
    expect(mapped.code).toBe(code);
    expect(STATUS[mapped.code]).toBe(status);
    expect(mapped.message).toContain('pg-app');
    expect(mapped.cause).toBe(err);
    expect(mapped.retryAfter === undefined).toBe(code !== 'provider_unavailable');
  });

  it('passes the provider message for a scope, and only for a scope', () => {
    expect(
      mintFailure('pg-app', new ProviderError('invalid_scope', 'role "x" is not configured', false))
        .message,
    ).toMatch(/cannot grant this scope: role "x" is not configured/);
    for (const code of [
      'provider_misconfigured',
      'provider_unavailable',
      'provider_rejected',
    ] as const) {
      const mapped = mintFailure('pg-app', new ProviderError(code, SECRETISH, true));
      expect(mapped.message).not.toContain('password');
      expect(mapped.message).not.toContain('10.0.0.7');
    }
  });

  it('answers RFC 6749 codes on /oauth/token', () => {
    const oauth = (err: ProviderError) => {
      const mapped = asOAuthError(mintFailure('pg-app', err));
      return { code: mapped?.code, status: mapped?.status, retryAfter: mapped?.retryAfter };
    };
    expect(oauth(new ProviderError('invalid_scope', 'too big', false))).toEqual({
      code: 'invalid_scope',
      status: 400,
      retryAfter: undefined,
    });
    expect(oauth(new ProviderError('provider_misconfigured', 'x', false))).toEqual({
      code: 'server_error',
      status: 502,
      retryAfter: undefined,
    });
    expect(oauth(new ProviderError('provider_unavailable', 'x', true))).toMatchObject({
      code: 'temporarily_unavailable',
      status: 503,
    });
    expect(oauth(new ProviderError('provider_unavailable', 'x', true)).retryAfter).toBeGreaterThan(
      0,
    );
  });

  it('maps a renewal the same way, and says it was a renewal', () => {
    expect(mintFailure('gh', new ProviderError('invalid_scope', 'gone', false), 'renew').code).toBe(
      'scope_invalid',
    );
    const failed = mintFailure('gh', new ProviderError('provider_rejected', 'no', false), 'renew');
    expect(failed.code).toBe('provider_failed');
    expect(failed.message).toBe('target gh could not renew the credential');
    expect(mintFailure('gh', new Error('x')).message).toBe('target gh could not mint a credential');
  });
});
