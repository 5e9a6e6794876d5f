/**
 * One broker replica running only its reaper, in its own process (its own Node thread and
 * event chain, as a second pod would have). Driven by bench/reaper.ts over the IPC channel.
 */
import { parseConfig } from './config.js';
import { processWindow } from './probes.js';
import { type ProfileSummary, startProfile } from './profile.js';
import type { BenchBroker } from './wiring.js';
import { assembleBroker } from './wiring.js';

export type ReplicaCommand =
  | { type: 'start'; raw: Record<string, unknown> }
  /** Start of the measured window: probes and CPU counters restart here. */
  | { type: 'mark'; profile: boolean }
  | { type: 'stop' };

export interface ReplicaStats {
  cpuMs: number;
  elu: number;
  wallMs: number;
  claimDueCalls: number;
  finishCalls: number;
  emitSyncMs: number;
  sealerOpenMs: number;
  logLines: number;
  firstLogs: string[];
  profile?: ProfileSummary;
}

export type ReplicaReport =
  | { type: 'ready' }
  | { type: 'stopped'; stats: ReplicaStats }
  | { type: 'failed'; error: string };

function send(report: ReplicaReport): void {
  process.send?.(report);
}

let bench: BenchBroker | undefined;
let closeWindow: (() => { wallMs: number; cpuMs: number; elu: number }) | undefined;
let reaper: BenchBroker['reaper'] | undefined;
let stopProfile: (() => Promise<ProfileSummary>) | undefined;

async function start(raw: Record<string, unknown>): Promise<void> {
  bench = await assembleBroker({ config: parseConfig(raw) });
  reaper = bench.reaper;
  closeWindow = processWindow();
  reaper.start();
  send({ type: 'ready' });
}

async function stop(): Promise<void> {
  await reaper?.stop();
  if (!bench || !closeWindow) return;
  await bench.events.flush(5_000);
  const usage = closeWindow();
  const profile = await stopProfile?.();
  const { probes } = bench;
  send({
    type: 'stopped',
    stats: {
      ...usage,
      claimDueCalls: probes.store.get('claimDue').calls,
      finishCalls: probes.store.get('finish').calls,
      emitSyncMs: probes.emitSync.ms,
      sealerOpenMs: probes.sealerOpen.ms,
      logLines: bench.logs.lines,
      firstLogs: bench.logs.first,
      ...(profile === undefined ? {} : { profile }),
    },
  });
  await bench.close();
  process.disconnect?.();
}

async function mark(profile: boolean): Promise<void> {
  bench?.probes.reset();
  closeWindow = processWindow();
  if (profile) stopProfile = await startProfile('reaper-replica');
}

process.on('message', (command: ReplicaCommand) => {
  const done =
    command.type === 'start'
      ? start(command.raw)
      : command.type === 'mark'
        ? mark(command.profile)
        : stop();
  done.catch((err: unknown) => {
    send({
      type: 'failed',
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    process.exitCode = 1;
    process.disconnect?.();
  });
});
