import { resolve } from 'node:path';

/** The in-process provider module whose mint takes `delay_ms` (test/fixtures/slow-provider.ts). */
const SLOW_PROVIDER = resolve(import.meta.dirname, '../fixtures/slow-provider.ts');

/**
 * Adds the target `slow` (the slow provider module; the harness must allow provider modules)
 * and the policy `slow-any`, which grants `workloads` the name `x` for `triage`.
 */
export function addSlowTarget(
  raw: Record<string, unknown>,
  workloads: string[],
  delayMs?: number,
): void {
  (raw.targets as unknown[]).push({
    name: 'slow',
    provider: 'module',
    module: SLOW_PROVIDER,
    ...(delayMs === undefined ? {} : { delay_ms: delayMs }),
  });
  (raw.policies as unknown[]).push({
    name: 'slow-any',
    workloads,
    target: 'slow',
    allow: { names: ['x'] },
    intents: ['triage'],
    default_ttl: '5m',
    max_ttl: '10m',
  });
}
