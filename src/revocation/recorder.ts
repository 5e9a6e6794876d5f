import type { BrokerEvent } from '../events/types.js';
import { safeMessage } from '../leases/revoker.js';
import type { Logger } from '../lib/logger.js';
import type { ReceiptStore, VerificationStatus } from './receipt.js';

const STATUS_OF: Partial<Record<BrokerEvent['type'], VerificationStatus>> = {
  'revocation.verified': 'verified',
  'revocation.unverified': 'unverified',
  'revocation.unverifiable': 'unverifiable',
};

/**
 * Writes the kill switch's events into its workload's receipt as they are chained, so the
 * receipt names each event by its place in the chain (`instance`, `seq`): the
 * `workload.revoked` answer, and every verification of a lease the kill switch revoked. Given
 * to the bus's `subscribe`; the write is in the background and a failure is logged.
 */
export function receiptRecorder(
  receipts: ReceiptStore,
  logger: Logger,
): (event: BrokerEvent) => void {
  const run = (work: Promise<void>, event: BrokerEvent) => {
    work.catch((err: unknown) => {
      logger.warn(
        { workload: event.workload, type: event.type, err: safeMessage(err) },
        'revocation receipt not updated',
      );
    });
  };
  return (event) => {
    if (event.workload === undefined) return;
    const position = { instance: event.instance, seq: event.seq };
    if (event.type === 'workload.revoked') {
      const counts = event.counts ?? {};
      // The receipt this kill switch began; without one (not begun) there is nothing to answer.
      const receipt = event.detail?.receipt;
      if (typeof receipt !== 'string') return;
      run(
        receipts.answered(event.workload, {
          receipt,
          counts: {
            revoked: counts.revoked ?? 0,
            failed: counts.failed ?? 0,
            pending: counts.revoking ?? 0,
          },
          position,
        }),
        event,
      );
      return;
    }
    const status = STATUS_OF[event.type];
    if (status === undefined || event.reason !== 'workload_revoked') return;
    if (event.target === undefined || event.lease_id === undefined) return;
    run(
      receipts.mark({
        workload: event.workload,
        target: event.target,
        provider: event.provider ?? '',
        leaseId: event.lease_id,
        status,
        position,
        ...(typeof event.detail?.revoked_at === 'number'
          ? { revokedAt: event.detail.revoked_at }
          : {}),
      }),
      event,
    );
  };
}
