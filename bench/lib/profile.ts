import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heading, ms, percent, table } from './report.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  path: string;
  totalMs: number;
  /** Self time by function. */
  top: { frame: string; ms: number }[];
  /** Self time by the nearest part of the system on the stack (events, Redis client…). */
  areas: { area: string; ms: number }[];
}

/** Where a frame belongs, judged by its file; the first match from the leaf up names a sample. */
const AREAS: readonly [string, RegExp][] = [
  ['events: sign/chain/redact/serialise', /\/src\/events\//],
  ['sealed handles (AES-GCM)', /\/src\/leases\/sealing/],
  ['lease decoding', /\/src\/leases\/codec/],
  [
    'Redis client (ioredis, parser)',
    /node_modules\/(ioredis|redis-parser|@ioredis|denque|cluster-key-slot|standard-as-callback)\//,
  ],
  ['lease store', /\/src\/leases\/redis-store/],
  ['revoker', /\/src\/leases\/revoker/],
  ['reaper', /\/src\/leases\/reaper/],
  ['broker', /\/src\/broker/],
  ['metrics (prom-client)', /node_modules\/prom-client\//],
  ['logger (pino)', /node_modules\/pino/],
  ['bench harness', /\/bench\//],
];

/**
 * Starts sampling this process's CPU (what `node --cpu-prof` records, for one window only);
 * the returned function stops, writes the .cpuprofile to the temp directory and summarises.
 */
export async function startProfile(name: string): Promise<() => Promise<ProfileSummary>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = (await session.post('Profiler.stop')) as unknown as {
      profile: CpuProfile;
    };
    session.disconnect();
    const path = join(tmpdir(), `${name}-${process.pid}-${Date.now()}.cpuprofile`);
    writeFileSync(path, JSON.stringify(profile));
    return summarise(profile, path);
  };
}

export async function profiled<T>(
  name: string,
  work: () => Promise<T>,
): Promise<{ result: T; summary: ProfileSummary }> {
  const stop = await startProfile(name);
  let result: T;
  try {
    result = await work();
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  return { result, summary: await stop() };
}

export function summarise(profile: CpuProfile, path: string): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i += 1) {
    // A sample's time is the gap until the next sample.
    const id = samples[i] as number;
    const us = deltas[i + 1] ?? 0;
    self.set(id, (self.get(id) ?? 0) + us);
  }

  const frames = new Map<string, number>();
  const areas = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    totalUs += us;
    const up = parent.get(id);
    const frame = describe(node.callFrame, up === undefined ? undefined : byId.get(up)?.callFrame);
    frames.set(frame, (frames.get(frame) ?? 0) + us);
    const area = areaOf(id, byId, parent);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const sorted = (map: Map<string, number>) =>
    [...map].sort((a, b) => b[1] - a[1]).map(([key, us]) => ({ key, ms: us / 1000 }));
  return {
    path,
    totalMs: totalUs / 1000,
    top: sorted(frames)
      .slice(0, 15)
      .map(({ key, ms }) => ({ frame: key, ms })),
    areas: sorted(areas).map(({ key, ms }) => ({ area: key, ms })),
  };
}

function describe(frame: CallFrame, caller: CallFrame | undefined): string {
  // (idle), (garbage collector), (program), (root): V8's own pseudo-frames.
  if (frame.functionName.startsWith('(')) return frame.functionName;
  const name = frame.functionName || '(anonymous)';
  // Native frames (the `run` of a crypto job) say nothing alone; their caller does.
  if (!frame.url) return caller ? `${name} [native, in ${caller.functionName}]` : name;
  // No line numbers: tsx compiles each file without a source map the profiler could use.
  const file = frame.url
    .replace(`file://${process.cwd()}/`, '')
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '');
  return `${name} ${file}`;
}

function areaOf(id: number, byId: Map<number, ProfileNode>, parent: Map<number, number>): string {
  const leaf = byId.get(id)?.callFrame.functionName ?? '';
  if (leaf === '(idle)') return 'idle';
  if (leaf === '(garbage collector)') return 'garbage collection';
  if (leaf === '(program)') return 'V8/native (program)';
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const url = byId.get(at)?.callFrame.url ?? '';
    for (const [area, pattern] of AREAS) if (pattern.test(url)) return area;
  }
  return 'other (Node internals, promises, timers)';
}

export function printProfile(title: string, summary: ProfileSummary): void {
  heading(`CPU profile: ${title} (${summary.path})`);
  console.log(
    table(
      ['area (nearest frame on the stack)', 'self time', 'share'],
      summary.areas.map((a) => [a.area, ms(a.ms), percent(a.ms, summary.totalMs)]),
    ),
  );
  console.log('');
  console.log(
    table(
      ['top frames (self time)', 'ms'],
      summary.top.map((t) => [`\`${t.frame}\``, ms(t.ms)]),
    ),
  );
}
