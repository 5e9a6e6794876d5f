import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';

/** A request that matched no route is counted under this one label value. */
export const UNMATCHED_ROUTE = 'unmatched';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Counts and times every request by method, route template and status. The template is the
 * route's as registered (`/v1/leases/{id}`), never the path asked for, so a scan of random
 * paths adds one series (`unmatched`), not one per path.
 */
export function httpMetrics(): MiddlewareHandler {
  return async function countRequest(c, next) {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      try {
        const { metrics } = c.get('services');
        const labels = {
          method: METHODS.has(c.req.method) ? c.req.method : 'other',
          route: routeTemplate(c),
          status: String(c.res.status),
        };
        metrics.httpRequests.inc(labels);
        metrics.httpSeconds.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      } catch {
        // Counting a request must never change its answer.
      }
    }
  };
}

/**
 * The template of the route this request matched, in OpenAPI's `{param}` form. Middleware
 * registered with `use` (method ALL) matches any path and names no route; when a route
 * matched, it is named even if a middleware answered first (a body too large, a 401).
 */
export function routeTemplate(c: Context): string {
  const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL');
  if (route === undefined) return UNMATCHED_ROUTE;
  return route.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');
}
