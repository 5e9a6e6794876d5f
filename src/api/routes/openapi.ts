import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { authorize, documentRoute, routeAccess } from '../access.js';
import { openApiDocument } from '../openapi-document.js';

export const openApiRoute = createRoute({
  method: 'get',
  path: '/openapi.json',
  tags: ['meta'],
  summary: 'This OpenAPI document, for client generators and API consoles',
  ...routeAccess('openapi.read'),
  responses: {
    200: {
      description: 'The OpenAPI 3.1 document',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
    },
  },
});

/**
 * The document is built on first request, once every route is registered, and kept: routes
 * do not change while the broker runs. Handled by hand because the body is the generator's
 * object, not a schema-typed one.
 */
export function registerOpenApi(app: OpenAPIHono): void {
  let document: string | undefined;
  documentRoute(app, openApiRoute);
  app.get('/openapi.json', authorize('openapi.read'), (c) => {
    document ??= JSON.stringify(openApiDocument(app));
    return c.body(document, 200, { 'content-type': 'application/json' });
  });
}
