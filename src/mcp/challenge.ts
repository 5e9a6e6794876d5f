/**
 * `WWW-Authenticate: Bearer …` (RFC 6750 §3, RFC 9728 §5.1). The MCP authorization spec
 * wants `resource_metadata` on every 401 so the client finds the authorization server, and
 * `scope` so it asks for enough the first time; on 403 `insufficient_scope` the scopes the
 * request needs. Values are quoted strings: a `"` or `\` is escaped (RFC 9110 §5.6.4).
 */
export interface Challenge {
  readonly resourceMetadata: string;
  readonly scope: readonly string[];
  readonly error?: 'invalid_token' | 'insufficient_scope' | 'invalid_request';
  readonly description?: string;
}

const quoted = (value: string) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

export function bearerChallenge(challenge: Challenge): string {
  const params: string[] = [];
  if (challenge.error !== undefined) params.push(`error=${quoted(challenge.error)}`);
  if (challenge.description !== undefined)
    params.push(`error_description=${quoted(challenge.description)}`);
  params.push(`resource_metadata=${quoted(challenge.resourceMetadata)}`);
  if (challenge.scope.length > 0) params.push(`scope=${quoted(challenge.scope.join(' '))}`);
  return `Bearer ${params.join(', ')}`;
}
