import { z } from 'zod';
import type { Provider } from '../../providers/provider.js';
import { sleep } from './report.js';

/**
 * A target whose revocation is one slow remote call (a SaaS API, a database across a WAN):
 * `revoke` takes `delayMs` and nothing else, so the kill switch's rate can only come from
 * `revokeConcurrency`. It never mints; the benchmark writes its leases directly.
 */
export function slowRevokeProvider(
  target: string,
  delayMs: number,
  revokeConcurrency: number,
): Provider {
  return {
    kind: 'jwt',
    target,
    scope: z.unknown(),
    ceiling: z.unknown(),
    revokeConcurrency,
    within: () => ({ ok: true }),
    mint: () => Promise.reject(new Error('the slow benchmark target never mints')),
    revoke: () => sleep(delayMs),
    check: () => Promise.resolve({ ok: true }),
  };
}
