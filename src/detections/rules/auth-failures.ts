import type { BrokerEvent } from '../../events/types.js';
import type { DetectionRuleConfig } from '../config.js';
import type { RuleCheck } from '../types.js';
import { countInWindow } from './counted.js';

type Rule = Extract<DetectionRuleConfig, { kind: 'auth_failures' }>;

export const authFailuresWatches = ['auth.failed'];

/**
 * Refusals the verifier reaches only after the token's signature verified against its
 * issuer's keys: the subject is the issuer's word, not the caller's. Any other refusal
 * (bad signature, unknown key or issuer, malformed, …) names whoever the caller chose, so
 * counting it would let anyone push a victim workload over the threshold and into a block.
 * `no_workload` and `no_role` map to no workload by definition.
 */
export const VERIFIED_FAILURES: ReadonlySet<string> = new Set([
  'expired',
  'not_yet_valid',
  'too_old',
  'audience_mismatch',
  'issuer_mismatch',
  'claim_invalid',
  'replayed',
  'revoked',
  'token_review_failed',
  'token_review_refused',
  'client_mismatch',
]);

/**
 * Whether a refused token may count toward the workload its issuer and subject map to: a
 * refusal after the signature verified, of a workload's own token. An identity assertion
 * grant (`detail.parameter: assertion`) is an enterprise user's, never a workload's.
 */
export function attributable(event: BrokerEvent): boolean {
  return (
    event.subject !== undefined &&
    VERIFIED_FAILURES.has(event.reason ?? '') &&
    event.detail?.parameter !== 'assertion'
  );
}

/**
 * `count` refused tokens within `window` whose verified issuer and subject map to the
 * workload (the engine maps them as identity mapping does, and only `attributable` ones;
 * summaries without a subject count nowhere).
 */
export function authFailures(rule: Rule): RuleCheck {
  return (o) => countInWindow(o, rule.count, rule.window, { reason: o.event.reason ?? null });
}
