import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { permits } from '../../access/permits.js';
import { EVENT_TYPES } from '../../events/types.js';
import type { OperatorPrincipal } from '../../identity/types.js';
import { routeAccess } from '../access.js';
import { clientIp } from '../client-ip.js';
import { problemResponses } from '../schemas.js';

export const eventsFeedRoute = createRoute({
  method: 'get',
  path: '/v1/events',
  tags: ['events'],
  summary: 'Live event feed (server-sent events) for consoles and the CLI',
  description:
    'Each SSE message is one signed event as JSON (`event:` is its type, `id:` its instance and seq). The feed shows events from the replica serving the connection; the Redis Stream is the system of record. The feed ends (an `end` message naming why) when the token that opened it expires, or when a configuration reload no longer accepts it.',
  ...routeAccess('events.feed'),
  request: {
    query: z.object({
      workload: z.string().max(64).optional(),
      type: z.enum(EVENT_TYPES).optional(),
    }),
  },
  responses: {
    200: {
      description: 'A text/event-stream until the token expires or is withdrawn',
      content: { 'text/event-stream': { schema: z.string() } },
    },
    ...problemResponses(401, 403, 422),
  },
});

/** setTimeout's longest delay; a break-glass entry may expire later than that. */
const MAX_TIMER_MS = 2_147_483_647;
const PING_MS = 15_000;

export function registerEventsFeed(app: OpenAPIHono): void {
  app.openapi(eventsFeedRoute, (c) => {
    const { workload, type } = c.req.valid('query');
    const services = c.get('services');
    const operator: OperatorPrincipal = c.get('operator');
    const token = /^Bearer +(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
    const source = clientIp(c) ?? 'unknown';
    return streamSSE(c, async (stream) => {
      const queue: string[] = [];
      let wake: (() => void) | undefined;
      let ended: string | undefined;
      const end = (reason: string) => {
        ended ??= reason;
        wake?.();
      };
      const unsubscribe = services.subscribe((event) => {
        if (workload !== undefined && event.workload !== workload) return;
        if (type !== undefined && event.type !== type) return;
        // A slow reader loses the oldest events, never the broker's memory.
        if (queue.length >= 1000) queue.shift();
        queue.push(JSON.stringify(event));
        wake?.();
      });
      // The feed is authorised by the token that opened it, so it lasts no longer than the
      // token does: until its expiry, or until a reload stops accepting it (a break-glass
      // entry removed, an operator issuer dropped, a role taken away).
      // A break-glass entry may outlast setTimeout's range: at the cap, only a token that has
      // really expired ends the feed (the loop checks again at every wake).
      const expiry = setTimeout(
        () => {
          if (Date.now() >= operator.expiresAt) end('token_expired');
        },
        Math.min(MAX_TIMER_MS, Math.max(0, operator.expiresAt - Date.now())),
      );
      const stopWatchingReloads = services.onReload(() => {
        services
          .operators()
          .authenticate(token, source)
          .then(
            (still) => {
              if (!permits(still, 'events.feed', 'self')) end('token_withdrawn');
            },
            () => end('token_withdrawn'),
          );
      });
      const cleanup = () => {
        clearTimeout(expiry);
        stopWatchingReloads();
        unsubscribe();
      };
      stream.onAbort(cleanup);
      await stream.writeSSE({ event: 'ready', data: '{}' });
      while (!stream.aborted) {
        if (ended === undefined && Date.now() >= operator.expiresAt) ended = 'token_expired';
        if (ended !== undefined) {
          await stream.writeSSE({ event: 'end', data: JSON.stringify({ reason: ended }) });
          break;
        }
        const next = queue.shift();
        if (next === undefined) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, PING_MS).unref();
          });
          wake = undefined;
          if (queue.length === 0 && ended === undefined && !stream.aborted)
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
      cleanup();
    });
  });
}
