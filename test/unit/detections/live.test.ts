import { describe, expect, it } from 'vitest';
import type { DetectionEngine } from '../../../src/detections/engine.js';
import { MemoryDetectionHolds } from '../../../src/detections/holds.js';
import { LiveDetections } from '../../../src/detections/live.js';
import type { Firing } from '../../../src/detections/types.js';
import type { BrokerEvent, EventInput } from '../../../src/events/types.js';

const event = (id: string): BrokerEvent => ({
  id,
  seq: 1,
  instance: 'i',
  prev: '',
  time: new Date().toISOString(),
  severity: 'low',
  type: 'credential.denied',
  outcome: 'denied',
  workload: 'agent-a',
});

describe('the live detection queue', () => {
  it('never waits: a full queue drops and counts, and what was queued is evaluated in order', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seen: string[] = [];
    const engine = {
      wants: () => true,
      observe: async (e: BrokerEvent): Promise<Firing[]> => {
        await gate;
        seen.push(e.id);
        return [];
      },
    } as unknown as DetectionEngine;
    let dropped = 0;
    const live = new LiveDetections({
      engine: () => engine,
      events: { emit: async (_e: EventInput) => {} },
      holds: new MemoryDetectionHolds(),
      killSwitch: async () => {
        throw new Error('not called');
      },
      maxQueue: 2,
      onDrop: () => {
        dropped += 1;
      },
    });
    // The first is taken by the worker at once; two wait; the rest find the queue full.
    for (const id of ['a', 'b', 'c', 'd', 'e']) live.offer(event(id));
    expect(dropped).toBe(2);
    release();
    await live.settled();
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('acts on nothing and emits detection.fired only, under dry_run', async () => {
    const emitted: EventInput[] = [];
    const firing: Firing = {
      rule: 'r',
      kind: 'denial_burst',
      workload: 'agent-a',
      mode: 'dry_run',
      actions: ['block', 'require_approval', 'alert'],
      at: new Date().toISOString(),
      trigger: { id: 'evt_1', seq: 1, instance: 'i' },
      cooldown_ms: 1000,
      hold_for_ms: 60_000,
      evidence: { count: 1 },
      events: [],
    };
    const holds = new MemoryDetectionHolds();
    const live = new LiveDetections({
      engine: () => ({ wants: () => true, observe: () => [firing] }) as unknown as DetectionEngine,
      events: {
        emit: async (e: EventInput) => {
          emitted.push(e);
        },
      },
      holds,
      killSwitch: async () => {
        throw new Error('a dry run pulled the kill switch');
      },
    });
    live.offer(event('x'));
    await live.settled();
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({
      type: 'detection.fired',
      severity: 'low',
      detail: { mode: 'dry_run', taken: {} },
    });
    expect(await holds.held('agent-a')).toBeUndefined();
  });
});
