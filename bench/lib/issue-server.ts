/**
 * One server of the issuance bench in its own process, so its CPU time is its own and not
 * mixed with the load generator's: the broker (`startBroker`, the `serve` path), the floor,
 * the peer, or the PostgreSQL floor. Driven by bench/issue.ts over the IPC channel.
 */
import { createLogger } from '../../src/lib/logger.js';
import { startBroker } from '../../src/server.js';
import { parseConfig } from './config.js';
import { type FloorOptions, startFloor } from './issue-floor.js';
import { type PeerOptions, startPeer } from './issue-peer.js';
import { type PgFloorOptions, pgFloorMint } from './issue-pg.js';
import { Collector } from './wiring.js';

export type ServerSpec =
  | { kind: 'broker'; raw: Record<string, unknown> }
  | { kind: 'floor'; floor: Omit<FloorOptions, 'mint'> }
  | { kind: 'pg-floor'; floor: Omit<FloorOptions, 'mint'>; pg: PgFloorOptions }
  | { kind: 'peer'; peer: PeerOptions };

export type ServerCommand =
  | { type: 'start'; spec: ServerSpec }
  | { type: 'cpu' }
  | { type: 'stop' };

export type ServerReport =
  | { type: 'ready'; url: string; pid: number }
  /** `process.cpuUsage()` user + system, µs since the process started. */
  | { type: 'cpu'; micros: number; logLines: number }
  | { type: 'stopped' }
  | { type: 'failed'; error: string };

function send(report: ServerReport): void {
  process.send?.(report);
}

let close: (() => Promise<void>) | undefined;
const logs = new Collector();

async function start(spec: ServerSpec): Promise<string> {
  switch (spec.kind) {
    case 'broker': {
      // As `serve` runs it: info-level logs (to a counting sink instead of the terminal), the
      // reaper on, every configured event sink.
      const running = await startBroker({
        config: parseConfig(spec.raw),
        store: 'redis',
        logger: createLogger({ level: 'info', destination: logs }),
        eventsOut: new Collector(),
        listen: true,
        reaper: true,
      });
      close = () => running.close();
      return running.url;
    }
    case 'floor': {
      const floor = await startFloor(spec.floor);
      close = floor.close;
      return floor.url;
    }
    case 'pg-floor': {
      const mint = pgFloorMint(spec.pg);
      const floor = await startFloor({ ...spec.floor, mint: mint.mint });
      close = async () => {
        await floor.close();
        await mint.close();
      };
      return floor.url;
    }
    case 'peer': {
      const peer = await startPeer(spec.peer);
      close = peer.close;
      return peer.url;
    }
  }
}

process.on('message', (command: ServerCommand) => {
  switch (command.type) {
    case 'start':
      start(command.spec).then(
        (url) => send({ type: 'ready', url, pid: process.pid }),
        (err: unknown) => send({ type: 'failed', error: String((err as Error)?.stack ?? err) }),
      );
      return;
    case 'cpu': {
      const usage = process.cpuUsage();
      send({ type: 'cpu', micros: usage.user + usage.system, logLines: logs.lines });
      return;
    }
    case 'stop':
      (close?.() ?? Promise.resolve()).then(
        () => {
          send({ type: 'stopped' });
          // A normal exit, so `--cpu-prof` writes its profile.
          process.disconnect?.();
          setTimeout(() => process.exit(0), 100).unref();
        },
        (err: unknown) => send({ type: 'failed', error: String(err) }),
      );
      return;
  }
});

// The bench gone (interrupted, or failed past its clean-up): no server outlives it.
process.on('disconnect', () => process.exit(0));
