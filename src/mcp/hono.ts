import type { MiddlewareHandler } from 'hono';
import type { McpCaller, McpGuard } from './guard.js';

declare module 'hono' {
  interface ContextVariableMap {
    mcpCaller: McpCaller;
  }
}

/** Hono: refusals and metadata are answered here; a verified caller is `c.get('mcpCaller')`. */
export function honoMcpGuard(guard: McpGuard): MiddlewareHandler {
  return async function mcpGuard(c, next) {
    const outcome = await guard.check(c.req.raw);
    if (outcome.kind === 'response') return outcome.response;
    c.set('mcpCaller', outcome.caller);
    await next();
    return undefined;
  };
}
