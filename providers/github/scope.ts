import { z } from 'zod';
import type { Check } from '../provider.js';

export const GITHUB_LEVELS = ['read', 'write', 'admin'] as const;
export type GithubLevel = (typeof GITHUB_LEVELS)[number];

/**
 * What a `write` tier workload may write: a repository's content and its conversation. Every
 * other permission at `write` — administration, hooks, secrets, workflows and Actions (code
 * that runs with its own token), checks and statuses (which can fake a required CI result),
 * self-hosted runners, members, deployments — needs the `admin` tier. An allowlist, so a
 * permission GitHub adds later is not writable by default.
 */
export const WRITE_TIER_WRITABLE: ReadonlySet<string> = new Set([
  'contents',
  'pull_requests',
  'issues',
  'discussions',
  'repository_projects',
  'pages',
  'packages',
]);

const REPOSITORY = /^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/;
/** A ceiling entry: `owner/name`, `owner/*` or `owner/prefix-*`. */
const REPOSITORY_PATTERN = /^[A-Za-z0-9-]{1,39}\/(?:\*|[A-Za-z0-9._-]{1,100}\*?)$/;
const PERMISSION = /^[a-z][a-z_]{0,63}$/;

const permissions = z
  .record(z.string().regex(PERMISSION, 'a GitHub App permission name'), z.enum(GITHUB_LEVELS))
  .refine((p) => Object.keys(p).length > 0, 'name at least one permission')
  .refine((p) => Object.keys(p).length <= 64, 'at most 64 permissions');

function unique(list: readonly string[]): boolean {
  return new Set(list.map((r) => r.toLowerCase())).size === list.length;
}

/**
 * A request names its repositories and permissions explicitly: an installation token asked
 * for without them would carry everything the installation has.
 */
export interface GithubScope {
  repositories: string[];
  permissions: Record<string, GithubLevel>;
}
export interface GithubCeiling {
  repositories: string[];
  permissions: Record<string, GithubLevel>;
}

export const githubScopeSchema: z.ZodType<GithubScope> = z
  .object({
    repositories: z
      .array(z.string().regex(REPOSITORY, 'owner/name'))
      .min(1)
      .max(100)
      .refine(unique, 'repositories must be unique')
      .refine(
        (list) => new Set(list.map((r) => ownerOf(r).toLowerCase())).size === 1,
        'every repository must belong to one owner (one installation)',
      ),
    permissions,
  })
  .strict();

export const githubCeilingSchema: z.ZodType<GithubCeiling> = z
  .object({
    repositories: z
      .array(z.string().regex(REPOSITORY_PATTERN, 'owner/name, owner/* or owner/prefix*'))
      .min(1)
      .max(256),
    permissions,
  })
  .strict();

export function ownerOf(repository: string): string {
  return repository.slice(0, repository.indexOf('/'));
}

export function nameOf(repository: string): string {
  return repository.slice(repository.indexOf('/') + 1);
}

/** GitHub logins and repository names compare without case. */
function matches(pattern: string, repository: string): boolean {
  const p = pattern.toLowerCase();
  const r = repository.toLowerCase();
  return p.endsWith('*') ? r.startsWith(p.slice(0, -1)) && r.length > p.length - 1 : p === r;
}

function rank(level: GithubLevel): number {
  return GITHUB_LEVELS.indexOf(level);
}

export function githubWithin(scope: GithubScope, ceiling: GithubCeiling): Check {
  for (const repository of scope.repositories) {
    if (!ceiling.repositories.some((pattern) => matches(pattern, repository))) {
      return { ok: false, reason: `repository "${repository}" is not within the ceiling` };
    }
  }
  for (const [name, level] of Object.entries(scope.permissions)) {
    const allowed = Object.hasOwn(ceiling.permissions, name)
      ? ceiling.permissions[name]
      : undefined;
    if (allowed === undefined) {
      return { ok: false, reason: `permission "${name}" is not within the ceiling` };
    }
    if (rank(level) > rank(allowed)) {
      return { ok: false, reason: `permission "${name}: ${level}" exceeds "${allowed}"` };
    }
  }
  return { ok: true };
}

export function githubTierAllows(scope: GithubScope, tier: 'read' | 'write' | 'admin'): Check {
  if (tier === 'admin') return { ok: true };
  for (const [name, level] of Object.entries(scope.permissions)) {
    if (level === 'read') continue;
    if (tier === 'read') {
      return { ok: false, reason: `a read-tier workload cannot hold "${name}: ${level}"` };
    }
    if (level === 'admin' || !WRITE_TIER_WRITABLE.has(name)) {
      return { ok: false, reason: `"${name}: ${level}" needs the admin tier` };
    }
  }
  return { ok: true };
}
