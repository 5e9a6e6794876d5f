import { Writable } from 'node:stream';
import { z } from 'zod';
import type { Provider } from '../../providers/provider.js';
import type { Lease } from '../../src/leases/types.js';
import { createLogger, type Logger } from '../../src/lib/logger.js';

/**
 * A lease of workload `agent-a` on target `t1` (a `module` provider), live for another minute,
 * for unit tests of the revoker and what runs after it; `overrides` set its id, state, handle.
 */
export function stubLease(overrides: Partial<Lease> = {}): Lease {
  const now = Date.now();
  return {
    id: `lse_aa${Math.random().toString(36).slice(2, 14).padEnd(26, 'a')}`,
    workload: 'agent-a',
    subject: 'spiffe://test/agent-a',
    issuer: 'test',
    target: 't1',
    provider: 'module',
    scope: {},
    task: { id: 'task-1', intent: 'test' },
    state: 'active',
    createdAt: now - 1000,
    expiresAt: now + 60_000,
    maxExpiresAt: now + 60_000,
    attempts: 0,
    policy: 'p',
    policyHash: 'h',
    ...overrides,
  };
}

/**
 * A `module` provider for target `t1` that accepts any scope, never mints, and revokes and
 * checks successfully; `extra` adds or replaces capabilities.
 */
export function stubProvider(extra: Partial<Provider> = {}): Provider {
  return {
    kind: 'module',
    target: 't1',
    scope: z.unknown(),
    ceiling: z.unknown(),
    within: () => ({ ok: true }),
    mint: async () => {
      throw new Error('not used');
    },
    revoke: async () => {},
    check: async () => ({ ok: true }),
    revokeConcurrency: 1,
    ...extra,
  };
}

/** A logger that writes nowhere. */
export function silentLogger(): Logger {
  return createLogger({
    level: 'silent',
    destination: new Writable({ write: (_c, _e, cb) => cb() }),
  });
}
