import { type Logger, pino } from 'pino';

/**
 * Structured logs. The redact list is a second line of defence: code never passes a
 * secret to the logger, but a field with one of these names is censored if it ever does.
 */
export function createLogger(
  options: { level?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { service: 'jit-broker' },
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
    options.destination ?? process.stderr,
  );
}

export type { Logger };
