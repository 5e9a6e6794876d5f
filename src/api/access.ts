import { timingSafeEqual } from 'node:crypto';
import type { OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { operatorMay } from '../access/permits.js';
import { ACCESS, type Action, whoMay } from '../access/table.js';
import { BrokerError } from '../errors.js';
import { AuthError } from '../identity/types.js';
import { authenticate } from './auth.js';
import { OPERATION_IDS } from './operation-ids.js';

/**
 * Enforces the role part of an action's access rule: authenticates the kind of principal the
 * rule admits (anything else is a 401, as if no token had been sent), then the operator's
 * role (403). Whose lease or task it is, the broker asks `permits` about.
 */
export function authorize(action: Action): MiddlewareHandler {
  const rule = ACCESS[action];
  const admits =
    rule.workload !== undefined && rule.operator !== undefined
      ? 'any'
      : rule.operator !== undefined
        ? 'operator'
        : 'workload';
  return async function authorizeAction(c, next) {
    c.set('action', action);
    if (rule.presented === 'metrics_token') {
      checkMetricsToken(c);
      return next();
    }
    if (rule.presented !== 'bearer') return next();
    const principal = await authenticate(c, admits);
    if (principal.kind === 'operator') {
      if (rule.operator === undefined) {
        throw new AuthError('unsupported_token', 'a workload token is required');
      }
      if (!operatorMay(principal, action)) {
        throw new BrokerError('forbidden', `this call needs the ${rule.operator} role`);
      }
      c.set('operator', principal);
    } else {
      if (rule.workload === undefined) {
        throw new AuthError('unsupported_token', 'an operator token is required');
      }
      c.set('workload', principal);
    }
    c.set('principal', principal);
    await next();
  };
}

/** `/metrics` is open unless `server.metrics_token` is set. */
function checkMetricsToken(c: Context): void {
  const expected = c.get('services').metricsToken;
  if (expected === undefined) return;
  const given = Buffer.from(c.req.header('authorization') ?? '');
  const wanted = Buffer.from(`Bearer ${expected}`);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    throw new BrokerError('unauthenticated', 'metrics need the metrics bearer token');
  }
}

const SECURITY: Record<'workload' | 'operator' | 'metrics', Record<string, string[]>> = {
  workload: { workloadJwt: [] },
  operator: { operatorJwt: [] },
  metrics: { metricsToken: [] },
};

/**
 * What a route definition declares about its action, all derived from the tables: the
 * `operationId`, the OpenAPI `security` alternatives, the `x-jit-access` extension naming the
 * action and who may take it, and the enforcing middleware. Spread it into `createRoute({...})`.
 */
export function routeAccess(action: Action) {
  const rule = ACCESS[action];
  const security: Record<string, string[]>[] = [];
  if (rule.workload !== undefined && rule.presented === 'bearer') security.push(SECURITY.workload);
  if (rule.operator !== undefined) security.push(SECURITY.operator);
  if (rule.presented === 'metrics_token') security.push({}, SECURITY.metrics);
  return {
    operationId: OPERATION_IDS[action],
    security,
    'x-jit-access': { action, who: whoMay(action) },
    middleware: [authorize(action)],
  };
}

/**
 * Puts a route that is handled by hand (not through `app.openapi`) into the OpenAPI
 * document. Its middleware is enforced by the handler's registration and is no document
 * field, so it is left out.
 */
export function documentRoute(app: OpenAPIHono, route: RouteConfig): void {
  const { middleware: _, ...documented } = route;
  app.openAPIRegistry.registerPath(documented);
}
