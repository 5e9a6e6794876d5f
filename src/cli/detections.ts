import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../config/duration.js';
import {
  eventFromLine,
  firingLine,
  ReplayConfigError,
  replay,
  replayRules,
} from '../detections/replay.js';
import { STREAM_FIELD } from '../events/sinks/redis-stream/index.js';
import type { BrokerEvent } from '../events/types.js';
import { CLI_EXIT } from './exit-codes.js';
import { CliError, type OperatorIo } from './io.js';

const PAGE = 1000;

export interface ReplayOptions {
  config: string;
  from: string;
  since?: string;
  redisUrl?: string;
  prefix: string;
  stream: string;
}

/**
 * `detections replay`: the configured rules over recorded events (an `events export` file
 * or the Redis Stream itself), printing what would have fired and when, so thresholds are
 * tuned on a team's own history before a rule enforces. Firings go to stdout (text, or
 * JSON with `--output json`), the summary with the rate to stderr.
 */
export async function runReplay(
  io: OperatorIo,
  opts: ReplayOptions,
  output: string,
): Promise<void> {
  const warn = io.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  let sinceMs: number | undefined;
  if (opts.since !== undefined) {
    const ms = parseDuration(opts.since);
    if (ms === undefined)
      throw new CliError(`--since: not a duration: ${opts.since}`, CLI_EXIT.usage);
    sinceMs = Date.now() - ms;
  }
  let tree: unknown;
  try {
    tree = parseYaml(await io.read(opts.config), { maxAliasCount: 100 });
  } catch (err) {
    throw new CliError(`--config: ${(err as Error).message.split('\n')[0]}`, CLI_EXIT.usage);
  }
  let rules: ReturnType<typeof replayRules>;
  try {
    rules = replayRules(tree);
  } catch (err) {
    if (err instanceof ReplayConfigError) {
      throw new CliError(`--config:\n  - ${err.issues.join('\n  - ')}`, CLI_EXIT.usage);
    }
    throw err;
  }
  if (rules.rules.length === 0) warn('the configuration has no detections');
  const events =
    opts.from === 'stream'
      ? await readStream(io, opts, sinceMs)
      : readLines(opts.from === '-' ? readFileSync(0, 'utf8') : await io.read(opts.from));
  const started = performance.now();
  const result = await replay(rules, events, sinceMs);
  const seconds = (performance.now() - started) / 1000;
  if (output === 'json' || output === 'yaml') {
    io.out(JSON.stringify(result.firings, null, 2));
  } else {
    for (const firing of result.firings) io.out(firingLine(firing));
  }
  const rate = seconds > 0 ? Math.round(result.replayed / seconds) : result.replayed;
  warn(
    `${result.firings.length} firings over ${result.replayed} events${result.read === result.replayed ? '' : ` (of ${result.read} read)`} in ${seconds.toFixed(2)}s (${rate} events/s)`,
  );
}

function readLines(text: string): BrokerEvent[] {
  const events: BrokerEvent[] = [];
  for (const line of text.split('\n')) {
    const event = eventFromLine(line);
    if (event !== undefined) events.push(event);
  }
  return events;
}

/** The stream from `since` on (entry ids are the milliseconds they were added). */
async function readStream(
  io: OperatorIo,
  opts: ReplayOptions,
  since: number | undefined,
): Promise<BrokerEvent[]> {
  const url = opts.redisUrl ?? io.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const key = `${opts.prefix}:${opts.stream}`;
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 5_000,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    try {
      await redis.connect();
    } catch (err) {
      throw new CliError(`cannot reach Redis: ${(err as Error).message}`);
    }
    if ((await redis.exists(key)) === 0) {
      throw new CliError(`no stream ${key} (check --prefix and --stream)`, CLI_EXIT.usage);
    }
    const events: BrokerEvent[] = [];
    let start = since === undefined ? '-' : `${Math.max(0, Math.floor(since))}-0`;
    for (;;) {
      const page = await redis.xrange(key, start, '+', 'COUNT', PAGE);
      for (const [, fields] of page) {
        const at = fields.indexOf(STREAM_FIELD);
        const event = at >= 0 && at % 2 === 0 ? eventFromLine(fields[at + 1] ?? '') : undefined;
        if (event !== undefined) events.push(event);
      }
      const last = page.at(-1);
      if (last === undefined || page.length < PAGE) break;
      start = `(${last[0]}`;
    }
    return events;
  } finally {
    redis.disconnect();
  }
}
