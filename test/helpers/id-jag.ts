import { randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { signToken, type TestKey } from './identity-support.js';

/** Who issues the test ID-JAGs, to which broker, for which user and resource. */
export const ID_JAG = {
  broker: 'https://broker.test.example',
  idp: 'https://idp.test.example',
  resource: 'https://files.test.example/mcp',
  user: 'U019488227',
} as const;

/**
 * An ID-JAG's claims as the draft's example lays them out, issued to agent-a for both files
 * scopes: a fresh `jti` and five minutes to live. `claims` replaces or adds any of them.
 */
export function idJagClaims(claims: Record<string, unknown> = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ID_JAG.idp,
    sub: ID_JAG.user,
    aud: ID_JAG.broker,
    client_id: 'agent-a',
    jti: randomUUID(),
    iat: now,
    exp: now + 300,
    resource: ID_JAG.resource,
    scope: 'files:read files:write',
    ...claims,
  };
}

/** An ID-JAG signed with `key` under the grant's `typ`; `header` replaces or adds fields. */
export function signIdJag(
  key: TestKey,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  return signToken(key, idJagClaims(claims), { typ: 'oauth-id-jag+jwt', ...header });
}
