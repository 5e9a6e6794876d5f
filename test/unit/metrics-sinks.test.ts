import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/events/bus.js';
import { eventSinkReader } from '../../src/metrics/scrape-readers.js';
import { Metrics } from '../../src/metrics.js';
import { MemorySink } from '../helpers/memory-sink.js';
import { parseScrape } from '../helpers/prometheus-scrape.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setUp(maxQueue: number) {
  const siem = new MemorySink('siem', 'required');
  const archive = new MemorySink('archive', 'best_effort');
  const bus = new EventBus({
    sinks: [siem, archive],
    maxQueue,
    retry: { baseMs: 60_000, maxMs: 60_000 },
    checkpoint: { maxDelayMs: 60_000 },
  });
  const metrics = new Metrics({ version: 'test' });
  metrics.watch(eventSinkReader(metrics, bus));
  cleanups.push(
    () => bus.close(),
    () => metrics.close(),
  );
  return { siem, archive, bus, scrape: async () => parseScrape(await metrics.metrics()) };
}

describe('event sink metrics', () => {
  it('a best-effort sink that is down fills its queue, then drops; each count reaches the scrape', async () => {
    const { archive, bus, scrape } = setUp(5);
    await bus.start();
    await bus.flush();
    const healthy = await scrape();
    expect(healthy.value('jit_event_sink_up', { sink: 'archive', mode: 'best_effort' })).toBe(1);
    expect(healthy.value('jit_event_sink_written_total', { sink: 'archive' })).toBe(1);

    archive.failing = true;
    for (let i = 0; i < 12; i += 1) {
      await bus.emit({ type: 'lease.revoked', outcome: 'success', workload: 'agent-a' });
    }
    await bus.flush();
    const down = await scrape();
    const stats = bus.stats().sinks.archive;
    expect(stats?.dropped).toBeGreaterThan(0);
    expect(down.value('jit_event_sink_dropped_total', { sink: 'archive' })).toBe(stats?.dropped);
    expect(down.value('jit_event_sink_queue_depth', { sink: 'archive' })).toBe(5);
    expect(down.value('jit_event_sink_write_failures_total', { sink: 'archive' })).toBe(
      stats?.failed,
    );
    expect(down.value('jit_event_sink_up', { sink: 'archive', mode: 'best_effort' })).toBe(0);
    // The other sink is unaffected.
    expect(down.value('jit_event_sink_up', { sink: 'siem', mode: 'required' })).toBe(1);
    expect(down.value('jit_event_sink_dropped_total', { sink: 'siem' })).toBe(0);
  });

  it('a required sink is down once a write fails, and up again after one succeeds', async () => {
    const { siem, bus, scrape } = setUp(100);
    await bus.start();
    siem.failing = true;
    await expect(
      bus.emit({ type: 'credential.issued', outcome: 'success' }, { failClosed: true }),
    ).rejects.toMatchObject({ code: 'audit_unavailable' });
    expect((await scrape()).value('jit_event_sink_up', { sink: 'siem', mode: 'required' })).toBe(0);
    siem.failing = false;
    await bus.emit({ type: 'credential.issued', outcome: 'success' }, { failClosed: true });
    const up = await scrape();
    expect(up.value('jit_event_sink_up', { sink: 'siem', mode: 'required' })).toBe(1);
    expect(up.value('jit_event_sink_queue_depth', { sink: 'siem' })).toBe(0);
  });
});
