import { createHash, randomBytes } from 'node:crypto';

/** The broker's task id grammar (`task.id` on `/v1/credentials` and `/oauth/token`). */
const TASK_ID = /^[A-Za-z0-9._:@#/-]{1,128}$/;

/**
 * A task id that belongs to one MCP request: the session, the JSON-RPC request id and 64
 * random bits, since request ids restart with every client and a stateless server has no
 * session: two requests never share a task, so ending one never revokes another's leases.
 * A part outside the broker's grammar (or too long) is replaced by its SHA-256.
 */
export function mcpTaskId(sessionId: string | undefined, requestId: string | number): string {
  const part = (value: string) =>
    /^[A-Za-z0-9._@-]{1,48}$/.test(value)
      ? value
      : createHash('sha256').update(value).digest('base64url').slice(0, 32);
  const nonce = randomBytes(8).toString('base64url');
  const id = `mcp:${part(sessionId ?? 'stateless')}:${part(String(requestId))}:${nonce}`;
  if (!TASK_ID.test(id)) throw new TypeError('mcp task id out of grammar');
  return id;
}
