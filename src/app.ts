import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { bodyLimit } from './api/body-limit.js';
import type { ApiServices } from './api/context.js';
import { httpMetrics } from './api/http-metrics.js';
import { problem } from './api/problem.js';
import { registerDecideApproval } from './api/routes/approval-decide.js';
import { registerGetApproval } from './api/routes/approval-get.js';
import { registerListApprovals } from './api/routes/approvals-list.js';
import { registerAuditKeys } from './api/routes/audit-keys.js';
import { registerIssueCredential } from './api/routes/credentials.js';
import { registerEventsFeed } from './api/routes/events-feed.js';
import { registerFreeze } from './api/routes/freeze.js';
import { registerFreezeStatus } from './api/routes/freeze-status.js';
import { registerHealth } from './api/routes/health.js';
import { registerIntrospect } from './api/routes/introspect.js';
import { registerGetLease } from './api/routes/lease-get.js';
import { registerRenewLease } from './api/routes/lease-renew.js';
import { registerRetryLease } from './api/routes/lease-retry.js';
import { registerRevokeLease } from './api/routes/lease-revoke.js';
import { registerListLeases } from './api/routes/leases-list.js';
import { registerMetrics } from './api/routes/metrics.js';
import { registerAuthorize } from './api/routes/oauth-authorize.js';
import { registerAuthorizationServerMetadata } from './api/routes/oauth-metadata.js';
import { registerOAuthRevoke } from './api/routes/oauth-revoke.js';
import { registerOAuthToken } from './api/routes/oauth-token.js';
import { registerOpenApi } from './api/routes/openapi.js';
import { registerSimulate } from './api/routes/policy-simulate.js';
import { registerRevokeSelector } from './api/routes/revoke-selector.js';
import { registerSsfConfiguration } from './api/routes/ssf-configuration.js';
import { registerSsfJwks } from './api/routes/ssf-jwks.js';
import { registerStatus } from './api/routes/status.js';
import { registerRevokeTask } from './api/routes/task-revoke.js';
import { registerJwks } from './api/routes/well-known.js';
import { registerWhoAmI } from './api/routes/whoami.js';
import { registerWorkloadHold } from './api/routes/workload-hold.js';
import { registerWorkloadReceipt } from './api/routes/workload-receipt.js';
import { registerWorkloadReport } from './api/routes/workload-report.js';
import { registerRevokeWorkload } from './api/routes/workload-revoke.js';
import { registerUnblockWorkload } from './api/routes/workload-unblock.js';
import { registerWorkloadInventory } from './api/routes/workloads-inventory.js';
import { registerListWorkloads } from './api/routes/workloads-list.js';
import { registerConsole } from './console/routes.js';
import { BrokerError } from './errors.js';
import { scrubText } from './events/redact.js';
import { BREAK_GLASS_FAILURE_LIMIT } from './identity/operators.js';
import { AuthError } from './identity/types.js';
import { newRequestId } from './lib/ids.js';
import { withRequestLog } from './lib/logger.js';

export { openApiDocument } from './api/openapi-document.js';

export interface AppOptions {
  bodyLimit: number;
}

/** Builds the HTTP API. Pure wiring: behaviour lives in the Broker and the routes. */
export function createApp(
  services: ApiServices,
  options: AppOptions = { bodyLimit: 65_536 },
): OpenAPIHono {
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (result.success) return;
      const errors = result.error.issues.map((i) => ({
        path: i.path.map(String).join('.') || '(body)',
        message: i.message,
      }));
      return problem(c, 'invalid_request', 'the request does not match the schema', { errors });
    },
  });

  app.use('*', async function requestContext(c, next) {
    const id = newRequestId();
    c.set('requestId', id);
    c.set('services', services);
    c.header('x-request-id', id);
    await withRequestLog(id, next);
  });
  app.use('*', httpMetrics());
  const limit = bodyLimit({
    maxSize: options.bodyLimit,
    onError: (c) =>
      problem(c, 'payload_too_large', `request bodies are limited to ${options.bodyLimit} bytes`),
  });
  app.use('/v1/*', limit);
  app.use('/oauth/*', limit);

  // credentials
  registerIssueCredential(app);
  registerIntrospect(app);
  registerOAuthToken(app);
  registerOAuthRevoke(app);
  registerAuthorizationServerMetadata(app);
  registerAuthorize(app);
  // leases
  registerListLeases(app);
  registerGetLease(app);
  registerRevokeLease(app);
  registerRenewLease(app);
  registerRetryLease(app);
  // tasks
  registerRevokeTask(app);
  // workloads (the kill switch)
  registerListWorkloads(app);
  registerWorkloadInventory(app);
  registerWorkloadReport(app);
  registerWorkloadReceipt(app);
  registerRevokeWorkload(app);
  registerUnblockWorkload(app);
  registerWorkloadHold(app);
  // incident response
  registerRevokeSelector(app);
  registerFreeze(app);
  registerFreezeStatus(app);
  // policy and events
  registerSimulate(app);
  registerListApprovals(app);
  registerGetApproval(app);
  registerDecideApproval(app);
  registerEventsFeed(app);
  // keys, health, metrics
  registerJwks(app);
  registerAuditKeys(app);
  registerSsfConfiguration(app);
  registerSsfJwks(app);
  registerHealth(app);
  registerMetrics(app);
  registerOpenApi(app);
  // operators and the console
  registerWhoAmI(app);
  registerStatus(app);
  registerConsole(app);

  app.openAPIRegistry.registerComponent('securitySchemes', 'workloadJwt', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'Workload identity JWT (OIDC, Kubernetes, GitHub Actions, SPIFFE JWT-SVID)',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'operatorJwt', {
    type: 'http',
    scheme: 'bearer',
    description: 'Operator JWT (operators audience) or a break-glass token',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'metricsToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'The `server.metrics_token`, when one is configured',
  });

  app.notFound((c) => problem(c, 'not_found', `no route ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    if (err instanceof BrokerError) {
      return problem(c, err.code, err.message, {
        reasons: err.reasons,
        ...(err.retryAfter === undefined ? {} : { retryAfter: err.retryAfter }),
      });
    }
    if (err instanceof AuthError && err.reason === 'break_glass_limited') {
      // Only wrong tokens get here: the right one is accepted whatever the count.
      return problem(c, 'rate_limited', 'too many failed break-glass attempts from this address', {
        retryAfter: BREAK_GLASS_FAILURE_LIMIT.windowMs / 1000,
      });
    }
    if (err instanceof AuthError) {
      // The reason is in the auth.failed event; the caller learns only that the token failed.
      const code = err.reason === 'missing_token' ? 'unauthenticated' : 'invalid_token';
      const detail =
        err.reason === 'missing_token'
          ? 'a bearer token is required'
          : 'the token was not accepted';
      return problem(c, code, detail);
    }
    if (err instanceof HTTPException) {
      if (err.status === 400) return problem(c, 'invalid_json', 'the body is not valid JSON');
      if (err.status === 415)
        return problem(c, 'unsupported_media_type', 'unsupported content type');
      if (err.status === 413) return problem(c, 'payload_too_large', 'the body is too large');
    }
    services.logger.error(
      { error: loggableError(err), request_id: c.get('requestId') },
      'unhandled error',
    );
    return new Response(
      JSON.stringify({
        type: 'about:blank',
        title: 'Internal Server Error',
        status: 500,
        code: 'internal',
        detail: 'internal error',
        request_id: c.get('requestId'),
      }),
      { status: 500, headers: { 'content-type': 'application/problem+json' } },
    );
  });
  return app;
}

/**
 * What an unexpected error may put in the log: its type, message and stack, scrubbed of
 * secret shapes. Never its own properties: client libraries attach the failed command's
 * arguments or the query's parameters there.
 */
function loggableError(err: Error): { type: string; message: string; stack?: string } {
  return {
    type: err.name,
    message: scrubText(err.message),
    ...(err.stack === undefined ? {} : { stack: scrubText(err.stack) }),
  };
}
