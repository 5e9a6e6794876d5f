import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { BrokerError } from '../../errors.js';
import { SSF_CONFIGURATION_PATH } from '../../ssf/metadata.js';
import { routeAccess } from '../access.js';
import { problemResponses } from '../schemas.js';

export const ssfConfigurationRoute = createRoute({
  method: 'get',
  path: SSF_CONFIGURATION_PATH,
  tags: ['keys'],
  summary: 'Shared Signals transmitter configuration metadata (SSF 1.0)',
  ...routeAccess('ssf.configuration'),
  responses: {
    200: {
      description:
        'SSF 1.0 transmitter metadata: `issuer`, `jwks_uri` (the SET key), push delivery (RFC 8935). Streams are the configured receivers: no stream management endpoint is offered.',
      content: {
        'application/json': {
          schema: z.object({
            spec_version: z.string(),
            issuer: z.string(),
            jwks_uri: z.string(),
            delivery_methods_supported: z.array(z.string()),
            critical_subject_members: z.array(z.string()),
          }),
        },
      },
    },
    ...problemResponses(404),
  },
});

export function registerSsfConfiguration(app: OpenAPIHono): void {
  app.openapi(ssfConfigurationRoute, (c) => {
    const ssf = c.get('services').ssf;
    if (ssf === undefined)
      throw new BrokerError('not_found', 'no Shared Signals transmitter is configured');
    c.header('cache-control', 'public, max-age=300');
    return c.json(
      {
        ...ssf.metadata,
        delivery_methods_supported: [...ssf.metadata.delivery_methods_supported],
        critical_subject_members: [...ssf.metadata.critical_subject_members],
      },
      200,
    );
  });
}
