import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { EVENT_TYPES } from '../../events/types.js';
import { routeAccess } from '../access.js';
import { problemResponses } from '../schemas.js';

export const eventsFeedRoute = createRoute({
  method: 'get',
  path: '/v1/events',
  tags: ['events'],
  summary: 'Live event feed (server-sent events) for consoles and the CLI',
  description:
    'Each SSE message is one signed event as JSON (`event:` is its type, `id:` its instance and seq). The feed shows events from the replica serving the connection; the Redis Stream is the system of record.',
  ...routeAccess('events.feed'),
  request: {
    query: z.object({
      workload: z.string().max(64).optional(),
      type: z.enum(EVENT_TYPES).optional(),
    }),
  },
  responses: {
    200: {
      description: 'An endless text/event-stream',
      content: { 'text/event-stream': { schema: z.string() } },
    },
    ...problemResponses(401, 403, 422),
  },
});

export function registerEventsFeed(app: OpenAPIHono): void {
  app.openapi(eventsFeedRoute, (c) => {
    const { workload, type } = c.req.valid('query');
    const services = c.get('services');
    return streamSSE(c, async (stream) => {
      const queue: string[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = services.subscribe((event) => {
        if (workload !== undefined && event.workload !== workload) return;
        if (type !== undefined && event.type !== type) return;
        // A slow reader loses the oldest events, never the broker's memory.
        if (queue.length >= 1000) queue.shift();
        queue.push(JSON.stringify(event));
        wake?.();
      });
      stream.onAbort(unsubscribe);
      await stream.writeSSE({ event: 'ready', data: '{}' });
      while (!stream.aborted) {
        const next = queue.shift();
        if (next === undefined) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 15_000).unref();
          });
          wake = undefined;
          if (queue.length === 0 && !stream.aborted)
            await stream.writeSSE({ event: 'ping', data: '{}' });
          continue;
        }
        const parsed = JSON.parse(next) as { type: string; instance: string; seq: number };
        await stream.writeSSE({
          event: parsed.type,
          id: `${parsed.instance}:${parsed.seq}`,
          data: next,
        });
      }
      unsubscribe();
    });
  });
}
