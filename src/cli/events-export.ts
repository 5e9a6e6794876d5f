import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { fromOcsf } from '../events/ocsf.js';
import { STREAM_FIELD } from '../events/sinks/redis-stream/index.js';
import { CLI_EXIT } from './exit-codes.js';
import { CliError, type OperatorIo } from './io.js';

const PAGE = 1000;

/**
 * `events export`: the Redis Stream, the system of record, as the native JSON lines that
 * `events verify` reads, oldest first. OCSF entries (a stream written with `format: ocsf`)
 * are mapped back to the signed native events.
 */
export function registerEventsExport(events: Command, io: OperatorIo): void {
  events
    .command('export')
    .description(
      'Print the events kept in the Redis Stream <prefix>:<stream> as native JSON lines, oldest first, for `events verify` (ignores --output)',
    )
    .option('--redis-url <url>', 'the broker\u2019s Redis (redis.url) [env REDIS_URL]')
    .option('--prefix <prefix>', 'the broker\u2019s redis.key_prefix', 'jit')
    .option('--stream <name>', 'events.redis_stream.stream', 'events')
    .action(async (opts: { redisUrl?: string; prefix: string; stream: string }) => {
      const url = opts.redisUrl ?? io.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
      const key = `${opts.prefix}:${opts.stream}`;
      const warn = io.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
      const redis = new Redis(url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        connectTimeout: 5_000,
        // One attempt: a CLI says what failed rather than retrying in silence.
        retryStrategy: () => null,
      });
      redis.on('error', () => {});
      try {
        try {
          await redis.connect();
        } catch (err) {
          throw new CliError(`cannot reach Redis at ${where(url)}: ${(err as Error).message}`);
        }
        if ((await redis.exists(key)) === 0) {
          throw new CliError(
            `no stream ${key} in Redis at ${where(url)} (check --prefix and --stream)`,
            CLI_EXIT.usage,
          );
        }
        let start = '-';
        let count = 0;
        let skipped = 0;
        for (;;) {
          const page = await redis.xrange(key, start, '+', 'COUNT', PAGE);
          for (const [id, fields] of page) {
            const at = fields.indexOf(STREAM_FIELD);
            const line = at >= 0 && at % 2 === 0 ? nativeLine(fields[at + 1]) : undefined;
            if (line === undefined) {
              skipped += 1;
              warn(`skipped stream entry ${id}: not a jit-broker event`);
              continue;
            }
            io.out(line);
            count += 1;
          }
          const last = page.at(-1);
          if (last === undefined || page.length < PAGE) break;
          // Exclusive start (Redis 6.2+), so no entry comes twice.
          start = `(${last[0]}`;
        }
        warn(
          `exported ${count} events from ${key}${skipped > 0 ? ` (${skipped} entries skipped)` : ''}`,
        );
      } finally {
        redis.disconnect();
      }
    });
}

function nativeLine(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if ('class_uid' in value) {
    const native = fromOcsf(value);
    return native === undefined ? undefined : JSON.stringify(native);
  }
  return text;
}

/** host:port only: a Redis URL may carry a password. */
function where(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return '(unparsable --redis-url)';
  }
}
