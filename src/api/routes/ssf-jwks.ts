import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { BrokerError } from '../../errors.js';
import { SSF_JWKS_PATH } from '../../ssf/metadata.js';
import { routeAccess } from '../access.js';
import { problemResponses } from '../schemas.js';

export const ssfJwksRoute = createRoute({
  method: 'get',
  path: SSF_JWKS_PATH,
  tags: ['keys'],
  summary: 'Public key of the Security Event Tokens the broker pushes',
  ...routeAccess('ssf.keys'),
  responses: {
    200: {
      description:
        "JWK Set (RFC 7517) with the SET signing key: the transmitter metadata's `jwks_uri`. Apart from `/.well-known/jwks.json`, so no verifier of access tokens trusts it.",
      content: {
        'application/json': {
          schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
        },
      },
    },
    ...problemResponses(404),
  },
});

export function registerSsfJwks(app: OpenAPIHono): void {
  app.openapi(ssfJwksRoute, (c) => {
    const ssf = c.get('services').ssf;
    if (ssf === undefined)
      throw new BrokerError('not_found', 'no Shared Signals transmitter is configured');
    c.header('cache-control', 'public, max-age=300');
    return c.json({ keys: ssf.keys.map((k) => ({ ...k })) }, 200);
  });
}
