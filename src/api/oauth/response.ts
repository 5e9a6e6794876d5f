import type { IssuedCredential } from '../../broker/index.js';
import { scopeToString } from './scope-string.js';
import { TOKEN_TYPE_ACCESS, TOKEN_TYPE_CREDENTIAL, TOKEN_TYPE_JWT } from './urns.js';

/** RFC 6749 §5.1: a response carrying a token must not be cached. */
export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

/** The RFC 8693 §2.2.1 response, with the lease fields `/v1/credentials` also returns. */
export function tokenResponse(
  { lease, credential, tokenType }: IssuedCredential,
  now: number,
): Record<string, unknown> {
  const expiresIn = Math.max(0, Math.floor((lease.expiresAt - now) / 1000));
  const scope = scopeToString(lease.scope);
  const common = {
    expires_in: expiresIn,
    ...(scope === undefined ? {} : { scope }),
    lease_id: lease.id,
    target: lease.target,
    provider: lease.provider,
    expires_at: new Date(lease.expiresAt).toISOString(),
  };
  const token = (credential as { token?: unknown } | null)?.token;
  if (tokenType !== undefined && typeof token === 'string') {
    return {
      access_token: token,
      issued_token_type: tokenType === 'jwt' ? TOKEN_TYPE_JWT : TOKEN_TYPE_ACCESS,
      token_type: 'Bearer',
      ...common,
    };
  }
  // Not an OAuth access token (a database login, cloud keys): RFC 8693 §2.2.1 token_type N_A.
  return {
    access_token: JSON.stringify(credential),
    issued_token_type: TOKEN_TYPE_CREDENTIAL,
    token_type: 'N_A',
    ...common,
  };
}
