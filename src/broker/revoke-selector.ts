import { FINISHED_STATES } from '../leases/types.js';
import type { Caller } from '../lib/caller.js';
import { compileGlob } from '../lib/glob.js';
import type { BrokerDeps } from './deps.js';
import { callerFields, emitBestEffort, sourceIpField } from './lib/events.js';
import { revokeRequested } from './lib/revocation.js';
import type { RevocationCounts } from './types.js';

export interface LeaseSelector {
  target?: string;
  issuer?: string;
  /** A glob over the lease's subject. */
  subject?: string;
  workload?: string;
}

/**
 * Incident response: revokes every live lease matching a selector (target, issuer, subject
 * glob). Costs a scan of all leases, unlike the per-workload kill switch.
 */
export async function revokeBySelector(
  deps: BrokerDeps,
  selector: LeaseSelector,
  reason: string,
  caller: Caller,
): Promise<RevocationCounts & { matched: number }> {
  const subject = selector.subject === undefined ? undefined : compileGlob(selector.subject, '');
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.store.list(
      {
        ...(selector.workload === undefined ? {} : { workload: selector.workload }),
        ...(selector.target === undefined ? {} : { target: selector.target }),
      },
      500,
      cursor,
    );
    for (const lease of page.leases) {
      if (FINISHED_STATES.has(lease.state)) continue;
      if (selector.issuer !== undefined && lease.issuer !== selector.issuer) continue;
      if (subject && !subject.test(lease.subject)) continue;
      ids.push(lease.id);
    }
    cursor = page.cursor;
  } while (cursor);
  const requests = await deps.store.requestRevoke(ids, 'selector');
  const counts = await revokeRequested(deps, requests, caller, deps.killSwitchDeadlineMs);
  const result = { matched: ids.length, ...counts };
  await emitBestEffort(deps, {
    type: 'workload.revoked',
    severity: 'high',
    outcome: 'success',
    reason,
    ...callerFields(caller),
    counts: result,
    detail: { selector },
    ...sourceIpField(caller),
  });
  return result;
}
