import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { authorize, documentRoute, routeAccess } from '../api/access.js';
import { problem } from '../api/problem.js';
import { problemResponses } from '../api/schemas.js';
import { ASSET_NAME, type ConsoleAsset, consoleDir, loadConsoleAssets } from './assets.js';
import { CONSOLE_HEADERS } from './headers.js';

export const consolePageRoute = createRoute({
  method: 'get',
  path: '/console',
  tags: ['console'],
  summary: 'The operator console (HTML); it calls this API with the token pasted into it',
  ...routeAccess('console.page'),
  responses: {
    200: { description: 'The console page', content: { 'text/html': { schema: z.string() } } },
    ...problemResponses(404),
  },
});

export const consoleAssetRoute = createRoute({
  method: 'get',
  path: '/console/{asset}',
  tags: ['console'],
  summary: "One of the console's scripts, styles or images",
  ...routeAccess('console.asset'),
  request: {
    params: z.object({ asset: z.string().regex(ASSET_NAME).openapi({ example: 'console.js' }) }),
  },
  responses: {
    200: {
      description: 'The file',
      content: {
        'text/javascript': { schema: z.string() },
        'text/css': { schema: z.string() },
      },
    },
    ...problemResponses(404),
  },
});

/**
 * Serves the console's static files from memory, each with the console's security headers.
 * Files are read on the first request, from `console/` at the package root; the page is
 * `index.html`. Static and public: it holds no data, and every call it makes carries the
 * operator's own token.
 */
export function registerConsole(app: OpenAPIHono, dir: string | undefined = consoleDir()): void {
  let assets: ReadonlyMap<string, ConsoleAsset> | undefined;
  const serve = (c: Context, name: string) => {
    for (const [header, value] of Object.entries(CONSOLE_HEADERS)) c.header(header, value);
    assets ??= loadConsoleAssets(dir);
    const asset = ASSET_NAME.test(name) ? assets.get(name) : undefined;
    if (asset === undefined) return problem(c, 'not_found', 'no such console file');
    return c.body(asset.body, 200, { 'content-type': asset.contentType });
  };
  documentRoute(app, consolePageRoute);
  app.get('/console', authorize('console.page'), (c) => serve(c, 'index.html'));
  // `/console/` is the page under another name: one permanent redirect to a fixed address
  // (never built from the request, so no open redirect), keeping the method and dropping the
  // query. A middleware rather than a route: it serves nothing but the way to `/console`.
  app.use('/console/', async function consoleSlash(c, next) {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    for (const [header, value] of Object.entries(CONSOLE_HEADERS)) c.header(header, value);
    return c.redirect('/console', 308);
  });
  documentRoute(app, consoleAssetRoute);
  app.get('/console/:asset', authorize('console.asset'), (c) => serve(c, c.req.param('asset')));
}
