import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { parseDuration } from '../../config/duration.js';
import { BrokerError } from '../../errors.js';
import { routeAccess } from '../access.js';
import { problemResponses, WorkloadIdParam } from '../schemas.js';

const Use = { count: z.number().int(), last_used: z.string() };

const CeilingSuggestionSchema = z
  .object({
    policy: z.string(),
    target: z.string(),
    status: z.enum(['suggested', 'already_tight', 'no_suggestion']),
    allow: z.unknown().optional(),
    yaml: z.string().optional(),
    reason: z.string().optional(),
  })
  .openapi('CeilingSuggestion');

export const WorkloadReportSchema = z
  .object({
    workload: z.string(),
    configured: z.boolean(),
    owner: z.string().optional(),
    description: z.string().optional(),
    tier: z.string().optional(),
    review_by: z.string().optional(),
    review: z.object({
      state: z.enum(['none', 'current', 'due', 'overdue']),
      deadline: z.string().optional(),
    }),
    generated_at: z.string(),
    window: z.object({
      seconds: z.number().int(),
      from: z.string(),
      to: z.string(),
      leases_known_from: z.string(),
    }),
    allowed: z.array(
      z.object({
        policy: z.string(),
        effect: z.enum(['allow', 'deny']),
        mode: z.enum(['enforce', 'dry_run']),
        target: z.string(),
        ceiling: z.unknown().optional(),
        intents: z.array(z.string()),
        tools: z.array(z.string()).optional(),
        tool_ceilings: z.record(z.string(), z.unknown()).optional(),
        default_ttl_seconds: z.number().optional(),
        max_ttl_seconds: z.number().optional(),
      }),
    ),
    used: z.object({
      leases: z.number().int(),
      live_leases: z.number().int(),
      leases_read: z.number().int(),
      truncated: z.boolean(),
      by_target: z.array(z.object({ target: z.string(), ...Use })),
      by_scope: z.array(z.object({ target: z.string(), scope: z.unknown(), ...Use })),
      by_tool: z.array(z.object({ tool: z.string(), ...Use })),
      by_intent: z.array(z.object({ intent: z.string(), ...Use })),
      by_policy: z.array(z.object({ policy: z.string(), target: z.string(), ...Use })),
    }),
    denied: z.object({
      known: z.boolean(),
      reason: z.string().optional(),
      count: z.number().int().optional(),
      by_reason: z
        .array(z.object({ reason: z.string(), count: z.number().int(), last: z.string() }))
        .optional(),
      by_target: z
        .array(z.object({ target: z.string(), count: z.number().int(), last: z.string() }))
        .optional(),
      truncated: z.boolean().optional(),
    }),
    unused: z.object({
      policies: z.array(z.object({ policy: z.string(), target: z.string() })),
      targets: z.array(z.string()),
    }),
    suggestions: z.array(CeilingSuggestionSchema),
  })
  .openapi('WorkloadReport');

export const workloadReportRoute = createRoute({
  method: 'get',
  path: '/v1/workloads/{id}/report',
  tags: ['workloads'],
  summary:
    'Least-privilege report: grants, use over a window, denials, unused grants, tighter ceilings',
  description:
    'Reads at most 10,000 of the workload’s lease records and 50,000 entries of the event stream (`used.truncated`, `denied.truncated` say when the bound was reached). Finished leases are known for `leases.retention` only (`window.leases_known_from`).',
  ...routeAccess('workload.report'),
  request: {
    params: WorkloadIdParam,
    query: z.object({
      window: z
        .string()
        .max(16)
        .default('30d')
        .openapi({ description: 'How far back: 1h to 365d (`7d`, `30d`)', example: '30d' }),
    }),
  },
  responses: {
    200: {
      description: 'The report',
      content: { 'application/json': { schema: WorkloadReportSchema } },
    },
    ...problemResponses(401, 403, 404, 422, 503),
  },
});

export function registerWorkloadReport(app: OpenAPIHono): void {
  app.openapi(workloadReportRoute, async (c) => {
    const { window } = c.req.valid('query');
    const windowMs = /^[0-9]+$/.test(window) ? undefined : parseDuration(window);
    if (windowMs === undefined) {
      throw new BrokerError('invalid_request', 'window must be a duration such as 7d or 30d');
    }
    const report = await c.get('services').broker.workloadReport(c.req.valid('param').id, windowMs);
    return c.json(report, 200);
  });
}
