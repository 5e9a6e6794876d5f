import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { BrokerError } from '../../errors.js';
import { LEASE_STATES } from '../../leases/types.js';
import type { Metrics } from '../../metrics.js';
import { routeAccess } from '../access.js';
import { problemResponses } from '../schemas.js';

const SinkSchema = z.object({
  sink: z.string(),
  mode: z.enum(['required', 'best_effort']),
  up: z.boolean().openapi({
    description: 'Took its last write and has queue room; a required sink down fails issuance',
  }),
  queued: z.number().int(),
  dropped: z.number().int(),
  failed_writes: z.number().int(),
});

const StatusSchema = z
  .object({
    leases: z.object({
      active_by_target: z.record(z.string(), z.number().int()),
      by_state: z.record(z.enum(LEASE_STATES), z.number().int()),
      truncated: z.boolean().openapi({
        description: 'The store held more leases than one read counts: the figures are a floor',
      }),
    }),
    sinks: z.array(SinkSchema).openapi({ description: "This replica's event sinks" }),
  })
  .openapi('BrokerStatus');

export const statusRoute = createRoute({
  method: 'get',
  path: '/v1/status',
  tags: ['health'],
  summary: 'Lease counts by target and state, and the health of each event sink, at a glance',
  description:
    'The figures `/metrics` exports, for an operator token: the lease census (bounded, reused for a few seconds) and this replica’s sinks.',
  ...routeAccess('status.read'),
  responses: {
    200: { description: 'The status', content: { 'application/json': { schema: StatusSchema } } },
    ...problemResponses(401, 403, 503),
  },
});

type Values = { labels: Record<string, string | number | undefined>; value: number }[];
const valuesOf = async (gauge: { get(): Promise<{ values: unknown }> }): Promise<Values> =>
  (await gauge.get()).values as Values;

/** What the scrape readers last read, as the status body; one source with `/metrics`. */
async function readStatus(metrics: Metrics): Promise<z.infer<typeof StatusSchema>> {
  // Renders the exposition only to run the scrape readers (census and sinks) first.
  await metrics.metrics();
  const [truncated] = await valuesOf(metrics.censusTruncated);
  if (truncated === undefined || Number.isNaN(truncated.value)) {
    throw new BrokerError('store_unavailable', 'the lease store could not be read');
  }
  const activeByTarget: Record<string, number> = {};
  for (const { labels, value } of await valuesOf(metrics.leasesActive)) {
    const target = String(labels.target);
    activeByTarget[target] = (activeByTarget[target] ?? 0) + value;
  }
  const byState = Object.fromEntries(LEASE_STATES.map((s) => [s, 0])) as Record<
    (typeof LEASE_STATES)[number],
    number
  >;
  for (const { labels, value } of await valuesOf(metrics.leasesByState)) {
    const state = labels.state as (typeof LEASE_STATES)[number];
    if (Object.hasOwn(byState, state)) byState[state] = value;
  }
  const bySink = async (gauge: { get(): Promise<{ values: unknown }> }) =>
    new Map((await valuesOf(gauge)).map((v) => [String(v.labels.sink), v.value]));
  const [queued, dropped, failed] = await Promise.all([
    bySink(metrics.sinkQueueDepth),
    bySink(metrics.sinkDropped),
    bySink(metrics.sinkFailures),
  ]);
  const sinks = (await valuesOf(metrics.sinkUp)).map(({ labels, value }) => {
    const sink = String(labels.sink);
    return {
      sink,
      mode: labels.mode === 'required' ? ('required' as const) : ('best_effort' as const),
      up: value === 1,
      queued: queued.get(sink) ?? 0,
      dropped: dropped.get(sink) ?? 0,
      failed_writes: failed.get(sink) ?? 0,
    };
  });
  return {
    leases: {
      active_by_target: activeByTarget,
      by_state: byState,
      truncated: truncated.value === 1,
    },
    sinks,
  };
}

export function registerStatus(app: OpenAPIHono): void {
  app.openapi(statusRoute, async (c) => {
    c.header('cache-control', 'no-store');
    return c.json(await readStatus(c.get('services').metrics), 200);
  });
}
