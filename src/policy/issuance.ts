import type { PolicyConfig } from '../config/schema.js';
import { BrokerError } from '../errors.js';
import type { EventInput } from '../events/types.js';
import type { ActorUseLedger } from './actor-ledger.js';
import { policyDigest } from './hash.js';
import type { Decision, PolicyGrant } from './types.js';

/** Reasons kept on a `credential.denied` or `policy.dry_run` event: enough to explain, bounded. */
export const MAX_EVENT_REASONS = 32;

/**
 * The `policy.dry_run` event of a decision whose candidates included dry-run policies: what
 * the set would have decided with them enforced, the deciding policy, and why. None when
 * the dry-run policies took part but changed nothing and decided nothing.
 */
export function dryRunEvent(
  base: Omit<EventInput, 'type' | 'outcome'>,
  decision: Decision,
): EventInput | undefined {
  const dryRun = decision.dryRun;
  if (dryRun === undefined) return undefined;
  // Worth a record when a dry-run policy would change the outcome or would be the one deciding.
  const decidedByDryRun = dryRun.policy !== undefined && dryRun.policies.includes(dryRun.policy);
  if (!dryRun.differs && !decidedByDryRun) return undefined;
  return {
    ...base,
    type: 'policy.dry_run',
    outcome: dryRun.allow ? 'success' : 'denied',
    reason: dryRun.allow ? 'would_grant' : 'would_deny',
    ...(dryRun.policy === undefined ? {} : { policy: dryRun.policy }),
    policy_hash: decision.policyHash,
    detail: {
      would: dryRun.allow ? 'grant' : 'deny',
      enforced: decision.allow ? 'grant' : 'deny',
      differs: dryRun.differs,
      dry_run_policies: dryRun.policies.slice(0, MAX_EVENT_REASONS),
      ...(dryRun.code === undefined ? {} : { code: dryRun.code }),
      ...(dryRun.reasons.length === 0
        ? {}
        : { reasons: dryRun.reasons.slice(0, MAX_EVENT_REASONS) }),
    },
  };
}

/**
 * A grant on a one-time actor token stands only if the token was not already used for
 * another task: recorded in the shared ledger before anything is written or minted.
 */
export async function claimActorUse(
  ledger: ActorUseLedger | undefined,
  grant: PolicyGrant,
): Promise<void> {
  const use = grant.actorUse;
  if (use === undefined) return;
  if (ledger === undefined) {
    throw new BrokerError('store_unavailable', 'one-time actor tokens cannot be checked', {
      retryAfter: 2,
    });
  }
  if (await ledger.claim(use)) return;
  throw new BrokerError('policy_denied', 'the actor assertion was already used for another task', {
    reasons: [
      {
        code: 'actor_token_reused',
        message: 'the actor assertion was already used for another task',
        policy: grant.policy,
      },
    ],
  });
}

// Digests of the configured policies, each computed once per policy object (a reload makes new ones).
const digests = new WeakMap<PolicyConfig, string>();

/**
 * The configuration of the policy that decided `grant`, as it is in `policies` (the runtime
 * in force). Its approval rule and budgets apply only while it is the very policy that
 * decided: a reload that removed or changed it between the decision and now refuses the
 * request (repeating it decides anew), so a grant never skips the rules it was decided with.
 */
export function decidingPolicy(
  policies: ReadonlyMap<string, PolicyConfig>,
  grant: PolicyGrant,
): PolicyConfig {
  const config = policies.get(grant.policy);
  if (config !== undefined) {
    let digest = digests.get(config);
    if (digest === undefined) {
      digest = policyDigest(config);
      digests.set(config, digest);
    }
    if (digest === grant.policyDigest) return config;
  }
  const message = 'the deciding policy changed while the request was decided: repeat it';
  throw new BrokerError('policy_denied', message, {
    reasons: [{ code: 'policy_changed', message, policy: grant.policy }],
  });
}
