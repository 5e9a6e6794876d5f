import type { IncomingMessage } from 'node:http';
import { type Command, Option } from 'commander';
import { stringify } from 'yaml';
import { EVENT_TYPES } from '../events/types.js';
import { CliError, type OperatorIo } from './io.js';
import { brokerUrl, httpError, openBrokerRequest, readBody } from './lib/broker-request.js';
import { globalOptions, target } from './lib/context.js';
import { forTerminal } from './lib/output.js';
import type { OutputFormat } from './lib/settings.js';

interface FeedMessage {
  event: string;
  data: string;
}

/** `events tail`: the live feed, printed as it comes. */
export function registerEventsTail(events: Command, io: OperatorIo): void {
  events
    .command('tail')
    .description(
      'Follow the live event feed (GET /v1/events, viewer) of the replica that answers, until Ctrl-C or the broker ends it (the token expires or is withdrawn); -o json prints JSON lines',
    )
    .option('--workload <id>', 'only this workload\u2019s events')
    .addOption(new Option('--type <type>', 'only events of this type').choices(EVENT_TYPES))
    .action(async (opts: { workload?: string; type?: string }, command: Command) => {
      const broker = target(io, command);
      const query = new URLSearchParams();
      if (opts.workload !== undefined) query.set('workload', opts.workload);
      if (opts.type !== undefined) query.set('type', opts.type);
      const res = await openBrokerRequest(broker, {
        method: 'GET',
        path: '/v1/events',
        query,
        accept: 'text/event-stream, application/problem+json',
      });
      if (res.statusCode !== 200) {
        const text = await readBody(res, broker);
        throw httpError(
          res.statusCode ?? 0,
          res.headers['content-type'],
          text,
          brokerUrl(broker.base, '/v1/events'),
        );
      }
      const format = globalOptions(io, command).output ?? 'table';
      const warn = io.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
      warn(`following events from ${broker.base.host} (Ctrl-C to stop)`);
      const ended = await follow(res, (message) => {
        if (message.event === 'end') return endReason(message.data);
        if (message.event !== 'ready' && message.event !== 'ping') {
          for (const line of eventLines(format, message.data)) io.out(line);
        }
        return undefined;
      });
      if (ended === 'cut off')
        throw new CliError('the event feed was cut off by the broker or the network');
      warn(ended === 'interrupted' ? 'stopped' : `the broker ended the feed: ${ended}`);
    });
}

function endReason(data: string): string {
  try {
    const reason = (JSON.parse(data) as { reason?: unknown }).reason;
    return typeof reason === 'string' ? reason : 'no reason given';
  } catch {
    return 'no reason given';
  }
}

/**
 * Reads server-sent events (WHATWG HTML §9.2: messages end at a blank line, `data:` lines
 * join with newlines) until `onMessage` returns why to stop, the stream ends, or Ctrl-C.
 */
function follow(
  res: IncomingMessage,
  onMessage: (message: FeedMessage) => string | undefined,
): Promise<string> {
  return new Promise((resolve) => {
    let buffer = '';
    let done = false;
    const finish = (why: string) => {
      if (done) return;
      done = true;
      process.off('SIGINT', interrupt);
      res.destroy();
      resolve(why);
    };
    const interrupt = () => finish('interrupted');
    process.once('SIGINT', interrupt);
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk.replaceAll('\r\n', '\n');
      for (let end = buffer.indexOf('\n\n'); end >= 0 && !done; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message: FeedMessage = { event: 'message', data: '' };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          const colon = line.indexOf(':');
          if (colon === 0) continue;
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') message.event = value;
          else if (field === 'data') data.push(value);
        }
        message.data = data.join('\n');
        const stop = onMessage(message);
        if (stop !== undefined) finish(stop);
      }
    });
    res.once('end', () => finish('cut off'));
    res.once('error', () => finish('cut off'));
  });
}

function eventLines(format: OutputFormat, data: string): string[] {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(data) as Record<string, unknown>;
  } catch {
    return [data];
  }
  switch (format) {
    // One event per line, as the broker sent it: the shape `jq` and `events verify` read.
    case 'json':
      return [data];
    case 'yaml':
      return ['---', stringify(event, { lineWidth: 0 }).trimEnd()];
    case 'table': {
      const fields = ['workload', 'target', 'lease_id', 'actor', 'reason']
        .filter((key) => typeof event[key] === 'string')
        .map((key) => `${key}=${String(event[key])}`);
      return [
        forTerminal([event.time, event.type, event.outcome, ...fields].map(String).join('  ')),
      ];
    }
  }
}
