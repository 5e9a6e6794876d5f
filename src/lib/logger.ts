import { AsyncLocalStorage } from 'node:async_hooks';
import { type DestinationStream, type Logger, pino } from 'pino';
import { prettyLogStream } from './pretty-log.js';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * The request being served, if any. The HTTP layer runs each request inside it, and every
 * line logged meanwhile (by the routes, the broker, the revoker, work the request started)
 * carries its id, without the logger being handed down through each call.
 */
const requestScope = new AsyncLocalStorage<{ requestId: string }>();

/** Runs `serve` with every log line written during it (and its async work) naming `requestId`. */
export function withRequestLog<T>(requestId: string, serve: () => Promise<T>): Promise<T> {
  return requestScope.run({ requestId }, serve);
}

/**
 * Runs `log` outside any request's scope: for lines about a shared part (a sink, a summary
 * timer) that a request's work merely happened to set off, which would otherwise name it.
 */
export function outsideRequest<T>(log: () => T): T {
  return requestScope.exit(log);
}

/**
 * Structured logs. The redact list is a second line of defence: code never passes a
 * secret to the logger, but a field with one of these names is censored if it ever does.
 * `pretty` prints the same (redacted) record as one human-readable line for a terminal.
 */
export function createLogger(
  options: { level?: string; destination?: NodeJS.WritableStream; format?: LogFormat } = {},
): Logger {
  const destination = options.destination ?? process.stderr;
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { service: 'jit-broker' },
      // A fresh object per line: pino merges the call's own fields into it.
      mixin: () => {
        const scope = requestScope.getStore();
        return scope === undefined ? {} : { request_id: scope.requestId };
      },
      redact: {
        paths: [
          'token',
          'credential',
          'password',
          'secret',
          'handle',
          'authorization',
          '*.token',
          '*.credential',
          '*.password',
          '*.secret',
          '*.handle',
          '*.authorization',
          'req.headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    (options.format === 'pretty' ? prettyLogStream(destination) : destination) as DestinationStream,
  );
}

export type { Logger };
