import type { OpenAPIHono } from '@hono/zod-openapi';
import { type Action, whoMay } from '../access/table.js';

interface Documented {
  method: string;
  path: string;
  action: Action;
  summary: string;
}

/** Every registered route with its action, in registration order. */
export function documentedRoutes(app: OpenAPIHono): Documented[] {
  return app.openAPIRegistry.definitions.flatMap((d) => {
    if (d.type !== 'route') return [];
    const access = (d.route as { 'x-jit-access'?: { action: Action } })['x-jit-access'];
    if (access === undefined) return [];
    return [
      {
        method: d.route.method.toUpperCase(),
        path: d.route.path,
        action: access.action,
        summary: d.route.summary ?? '',
      },
    ];
  });
}

/** The README's API table: written from the access table and the route definitions. */
export function accessMarkdown(app: OpenAPIHono): string {
  const rows = documentedRoutes(app).map(
    (r) =>
      `| \`${r.method} ${r.path}\` | \`${r.action}\` | ${whoMay(r.action)} | ${r.summary.replaceAll('|', '\\|')} |`,
  );
  return ['| call | action | who | what |', '|---|---|---|---|', ...rows].join('\n');
}
