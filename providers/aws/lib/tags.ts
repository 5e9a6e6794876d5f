import { ProviderError } from '../../provider.js';

/** AWS's session tag patterns: keys 1-128, values 0-256 of letters, digits, spaces, `_.:/=+-@`. */
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
/** `SourceIdentity` and `RoleSessionName`: 2-64 of `[\w+=,.@-]`. */
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

export const WORKLOAD_TAG = 'jit-workload';
export const TASK_TAG = 'jit-task';
export const LEASE_TAG = 'jit-lease';

/**
 * Task ids may hold `#`, which AWS tag values may not; `+` is outside the task id alphabet,
 * so writing `#` as `+` keeps the value unambiguous.
 */
export const taskTagValue = (taskId: string) => taskId.replaceAll('#', '+');

export function sessionTags(
  workload: string,
  taskId: string,
  leaseId: string,
): { Key: string; Value: string }[] {
  const tags = [
    { Key: WORKLOAD_TAG, Value: workload },
    { Key: TASK_TAG, Value: taskTagValue(taskId) },
    { Key: LEASE_TAG, Value: leaseId },
  ];
  for (const tag of tags) {
    if (!TAG_KEY.test(tag.Key) || !TAG_VALUE.test(tag.Value)) {
      throw new ProviderError(
        'invalid_scope',
        `session tag ${tag.Key} does not fit AWS's tag pattern`,
        false,
      );
    }
  }
  return tags;
}

/**
 * Session name and source identity must fit STS's pattern before any call is made. Neither is
 * the caller's to change (lease ids are the broker's, workload ids the operator's), so a misfit
 * is configuration: a one-character workload id, say, cannot be an AWS `SourceIdentity`.
 */
export function assertSessionName(target: string, field: string, value: string): void {
  if (!SESSION_NAME.test(value)) {
    throw new ProviderError(
      'provider_misconfigured',
      `aws target "${target}": ${field} "${value}" must be 2-64 of letters, digits and +=,.@_- for STS`,
      false,
    );
  }
}
