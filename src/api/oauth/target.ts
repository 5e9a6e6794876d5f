import { OAuthError } from './errors.js';
import type { FormParameters } from './form.js';
import { TARGET_URN } from './urns.js';

/**
 * `resource` and `audience` together must name exactly one target: RFC 8693 §2.1 allows
 * several, but a lease is for one, and §2.2.2 answers anything else with `invalid_target`.
 */
export function targetOf(params: FormParameters): string {
  const named = [...(params.get('resource') ?? []), ...(params.get('audience') ?? [])]
    .filter((value) => value !== '')
    .map((value) => (value.startsWith(TARGET_URN) ? value.slice(TARGET_URN.length) : value));
  const targets = new Set(named);
  if (targets.size === 0) {
    throw new OAuthError('invalid_request', 'name the target in "resource" or "audience"');
  }
  const [target] = targets;
  if (targets.size > 1 || target === undefined) {
    throw new OAuthError('invalid_target', 'a token is issued for exactly one target');
  }
  return target;
}
