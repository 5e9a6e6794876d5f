import type { RevocationHandle } from '../provider.js';
import type { AwsHandle } from './mint.js';

/** The handle as minted, or undefined when there is none (or it is not one of ours). */
export function readHandle(raw: RevocationHandle): AwsHandle | undefined {
  const { role_id, workload, issued_before, expires_at } = raw;
  if (
    typeof role_id !== 'string' ||
    typeof workload !== 'string' ||
    typeof issued_before !== 'number' ||
    typeof expires_at !== 'number'
  ) {
    return undefined;
  }
  return { role_id, workload, issued_before, expires_at };
}
