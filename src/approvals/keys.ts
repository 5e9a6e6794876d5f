import { BASE32_ALPHABET, randomBase32, slotTag } from '../lib/ids.js';
import { APPROVAL_PREFIX } from './types.js';

/** `apr_` + the workload's slot tag + 128 random bits: the id alone finds the record. */
export function newApprovalId(workload: string): string {
  return `${APPROVAL_PREFIX}${slotTag(workload)}${randomBase32(16)}`;
}

const ID_PATTERN = new RegExp(`^${APPROVAL_PREFIX}[${BASE32_ALPHABET}]{28}$`);

export function isApprovalId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/**
 * Approval keys under the broker's prefix. A record and its digest pointer share the
 * workload's hash tag, like its lease keys, and so does the workload's own index (its
 * approvals) and pending set; the two global indexes (every approval, and the pending ones)
 * are only ever touched on their own.
 */
export class ApprovalKeys {
  constructor(readonly prefix: string) {}

  record(id: string): string {
    return `${this.prefix}:{${id.slice(APPROVAL_PREFIX.length, APPROVAL_PREFIX.length + 2)}}:approval:${id}`;
  }
  digest(workload: string, digest: string): string {
    return `${this.prefix}:{${slotTag(workload)}}:approval-digest:${digest}`;
  }
  pendingOf(workload: string): string {
    return `${this.prefix}:{${slotTag(workload)}}:approvals-pending:${workload}`;
  }
  /** Every approval of one workload, on its slot: a workload's listing reads only its own. */
  allOf(workload: string): string {
    return `${this.prefix}:{${slotTag(workload)}}:approvals-of:${workload}`;
  }
  get all(): string {
    return `${this.prefix}:approvals`;
  }
  get pending(): string {
    return `${this.prefix}:approvals-pending`;
  }
}
