import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { TIERS } from '../../config/schema.js';
import { routeAccess } from '../access.js';
import { problemResponses, TaskSchema, taskOf } from '../schemas.js';

const SimulationSchema = z
  .object({
    workload: z.string().min(1).max(64).openapi({ description: 'A configured workload id' }),
    claims: z.record(z.string(), z.unknown()).default({}),
    actor: z
      .object({
        subject: z.string(),
        issuer: z.string(),
        claims: z.record(z.string(), z.unknown()),
      })
      .optional(),
    target: z.string().min(1).max(64),
    scope: z.record(z.string(), z.unknown()),
    ttl: z.number().int().min(1).max(86_400).optional(),
    task: TaskSchema,
    ip: z.string().max(64).optional(),
  })
  .strict()
  .openapi('Simulation');

const ReasonSchema = z.object({
  code: z.string(),
  message: z.string(),
  policy: z.string().optional(),
});

export const simulateRoute = createRoute({
  method: 'post',
  path: '/v1/policy/simulate',
  tags: ['policy'],
  summary: 'What would the policy decide? (nothing is minted)',
  ...routeAccess('policy.simulate'),
  request: {
    body: { required: true, content: { 'application/json': { schema: SimulationSchema } } },
  },
  responses: {
    200: {
      description: 'The decision and its reasons',
      content: {
        'application/json': {
          schema: z.object({
            allow: z.boolean(),
            policy: z.string().optional(),
            policy_hash: z.string(),
            code: z.string().optional(),
            ttl: z.number().optional(),
            tier: z.enum(TIERS),
            reasons: z.array(ReasonSchema),
            approval: z
              .object({
                required: z.boolean(),
                rule: z.record(z.string(), z.unknown()).optional(),
              })
              .optional()
              .openapi({
                description:
                  'Granted requests: whether the grant would wait for an operator (202) and the rule that holds it',
              }),
            dry_run: z
              .object({
                allow: z.boolean(),
                policy: z.string().optional(),
                code: z.string().optional(),
                differs: z.boolean(),
                reasons: z.array(ReasonSchema),
              })
              .optional()
              .openapi({
                description:
                  'What the set would decide with its dry-run policies enforced, when any took part',
              }),
          }),
        },
      },
    },
    ...problemResponses(401, 403, 404, 422),
  },
});

export function registerSimulate(app: OpenAPIHono): void {
  app.openapi(simulateRoute, (c) => {
    const body = c.req.valid('json');
    const result = c.get('services').broker.simulate({
      workload: body.workload,
      claims: body.claims,
      ...(body.actor === undefined ? {} : { actor: body.actor }),
      target: body.target,
      scope: body.scope,
      ...(body.ttl === undefined ? {} : { ttl: body.ttl }),
      task: taskOf(body.task),
      ...(body.ip === undefined ? {} : { ip: body.ip }),
    });
    const { dry_run: dryRun, ...decision } = result;
    return c.json(
      {
        ...decision,
        reasons: [...decision.reasons],
        ...(dryRun === undefined ? {} : { dry_run: { ...dryRun, reasons: [...dryRun.reasons] } }),
      },
      200,
    );
  });
}
