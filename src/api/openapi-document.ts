import type { OpenAPIHono } from '@hono/zod-openapi';

export type OpenApiDocument = ReturnType<OpenAPIHono['getOpenAPI31Document']>;

/**
 * The OpenAPI document of the routes `app` registers. The server is the relative `/`: read
 * from `/openapi.json` it resolves to the broker that served it (OpenAPI 3.1 §4.8.5), and
 * read from the committed `openapi.yaml` it names no host a deployment does not have.
 */
export function openApiDocument(app: OpenAPIHono): OpenApiDocument {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'jit-broker',
      version: '1',
      description: 'Just-in-time, task-bound, revocable credentials for MCP servers and AI agents.',
    },
    servers: [{ url: '/', description: 'The broker that serves this document' }],
  });
}
