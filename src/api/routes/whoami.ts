import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { operatorMay } from '../../access/permits.js';
import { ACTIONS } from '../../access/table.js';
import { OPERATOR_ROLES } from '../../config/schema.js';
import { routeAccess } from '../access.js';
import { problemResponses } from '../schemas.js';

const WhoAmISchema = z
  .object({
    name: z.string().openapi({ description: "The JWT's `sub`, or the break-glass entry's name" }),
    roles: z.array(z.enum(OPERATOR_ROLES)),
    via: z.enum(['jwt', 'break_glass']),
    issuer: z.string().optional().openapi({ description: 'The operator issuer, for JWTs' }),
    expires_at: z.string().openapi({ description: 'When the token stops being accepted' }),
    actions: z.array(z.enum(ACTIONS)).openapi({
      description:
        'Every action this token may take, from the access table: a console offers these and no others',
    }),
  })
  .openapi('WhoAmI');

export const whoAmIRoute = createRoute({
  method: 'get',
  path: '/v1/whoami',
  tags: ['operators'],
  summary:
    'Who the operator token is and its roles, as the broker verified them (what a console shows and offers)',
  ...routeAccess('operator.whoami'),
  responses: {
    200: { description: 'The operator', content: { 'application/json': { schema: WhoAmISchema } } },
    ...problemResponses(401, 403),
  },
});

export function registerWhoAmI(app: OpenAPIHono): void {
  app.openapi(whoAmIRoute, (c) => {
    const operator = c.get('operator');
    c.header('cache-control', 'no-store');
    return c.json(
      {
        name: operator.name,
        roles: [...operator.roles],
        via: operator.via,
        ...(operator.issuer === undefined ? {} : { issuer: operator.issuer }),
        expires_at: new Date(operator.expiresAt).toISOString(),
        actions: ACTIONS.filter((action) => operatorMay(operator, action)),
      },
      200,
    );
  });
}
