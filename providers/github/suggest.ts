import { checkedCeiling, unionOf } from '../lib/suggest-ceiling.js';
import {
  GITHUB_LEVELS,
  type GithubCeiling,
  type GithubLevel,
  type GithubScope,
  githubCeilingSchema,
} from './scope.js';

/** The repositories used, by exact name, and each permission at the highest level used. */
export function suggestGithubCeiling(used: readonly GithubScope[]): GithubCeiling | undefined {
  if (used.length === 0) return undefined;
  const permissions: Record<string, GithubLevel> = {};
  for (const scope of used) {
    for (const [name, level] of Object.entries(scope.permissions)) {
      const held = permissions[name];
      if (held === undefined || GITHUB_LEVELS.indexOf(level) > GITHUB_LEVELS.indexOf(held)) {
        permissions[name] = level;
      }
    }
  }
  const sorted = Object.fromEntries(
    Object.entries(permissions).sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  return checkedCeiling(githubCeilingSchema, {
    repositories: unionOf(used.map((s) => s.repositories)),
    permissions: sorted,
  });
}
