import type { Provider } from '../../providers/provider.js';
import type { PolicyConfig } from '../config/schema.js';

/**
 * An approval rule's `beyond` is a ceiling in its target provider's own terms: read by that
 * provider's ceiling schema at load, so a mistyped one never silently holds (or frees) grants.
 */
export function approvalCeilingIssues(
  policies: readonly PolicyConfig[],
  providers: ReadonlyMap<string, Provider>,
): string[] {
  return policies.flatMap((p, i) => {
    const rule = p.approval;
    if (typeof rule !== 'object' || rule.beyond === undefined) return [];
    const provider = providers.get(p.target);
    if (provider === undefined) return [];
    const parsed = provider.ceiling.safeParse(rule.beyond);
    if (parsed.success) return [];
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    return [
      `policies.${i}.approval.beyond: not a valid ceiling for target "${p.target}": ${problems}`,
    ];
  });
}
