import { BrokerError } from '../errors.js';
import type { RevocationReceipt } from '../revocation/receipt.js';
import type { BrokerDeps } from './deps.js';

/** The receipt of a workload's last kill switch, or `receipt_not_found`. */
export async function revocationReceipt(
  deps: BrokerDeps,
  workload: string,
): Promise<RevocationReceipt> {
  const receipt = await deps.receipts?.store.get(workload);
  if (receipt === undefined || receipt === null) {
    throw new BrokerError(
      'receipt_not_found',
      `workload ${workload} has no revocation receipt: no kill switch within the lease retention`,
    );
  }
  return receipt;
}
