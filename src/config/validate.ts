import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { MemoryReplayGuard } from '../identity/replay-guard.js';
import { compileCondition } from '../policy/condition.js';
import { buildRuntime } from '../runtime.js';
import { type FileIssue, fileIssues } from './check-files.js';
import { placeholderIssues } from './check-placeholders.js';
import { namedPath } from './issue-path.js';
import { ConfigError, formatIssues, resolveReferences } from './load.js';
import { standInSecrets, type UncheckedReference } from './offline-secrets.js';
import { configSchema } from './schema.js';

export interface ValidateOptions {
  env?: NodeJS.ProcessEnv;
  /** Stand in for `${env:}`/`${file:}` secrets and plain file paths instead of reading them. */
  offlineSecrets?: boolean;
}

export interface Validation {
  issues: string[];
  /** What `--offline-secrets` did not check: `path: ${env:NAME}` or `path: file /x`. */
  unchecked: string[];
  /** One line on what was checked, when everything passed. */
  summary?: string;
}

/** What `buildRuntime` checks, named so a skipped run says what it did not check. */
const RUNTIME_CHECKS = [
  'references between sections',
  'target providers',
  'policy ceilings',
  'event sinks',
  'audit signing keys',
  'issuer and operator keys',
  'encryption keys',
];

/**
 * Everything `serve` would refuse, in one run and without a Redis: the schema, every file
 * and PEM, placeholders, CEL types, then the runtime's cross-section checks. Checks that
 * need a section the schema refused are skipped, and the report says how many.
 */
export function validateConfigFile(file: string, options: ValidateOptions = {}): Validation {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return { issues: [`cannot read ${file} (${code})`], unchecked: [] };
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 }) ?? {};
  } catch (err) {
    return { issues: [`YAML: ${(err as Error).message.split('\n')[0]}`], unchecked: [] };
  }

  const problems: FileIssue[] = [];
  const references: UncheckedReference[] = [];
  let tree: unknown;
  if (options.offlineSecrets === true) {
    tree = standInSecrets(raw, references);
  } else {
    const unresolved: string[] = [];
    tree = resolveReferences(raw, options.env ?? process.env, resolve(file, '..'), [], unresolved);
    for (const issue of unresolved) {
      const at = issue.indexOf(': ');
      problems.push({ path: issue.slice(0, at).split('.'), message: issue.slice(at + 2) });
    }
  }
  const standIns = new Set(references.map((r) => r.path.join('.')));
  const unreadFiles: FileIssue[] = [];
  problems.push(
    ...fileIssues(tree, { standIns, offline: options.offlineSecrets === true, unreadFiles }),
  );
  problems.push(...placeholderIssues(tree, standIns));
  problems.push(...conditionIssues(tree));

  const issues = problems.map((p) => `${namedPath(p.path, tree)}: ${p.message}`);
  const parsed = configSchema.safeParse(tree);
  let summary: string | undefined;
  if (!parsed.success) {
    issues.push(...formatIssues(parsed.error, [], { root: tree, schema: configSchema }));
    issues.push(
      `(${RUNTIME_CHECKS.length} more checks skipped because the schema has errors: ${RUNTIME_CHECKS.join(', ')})`,
    );
  } else {
    const config = parsed.data;
    try {
      const runtime = buildRuntime(config, {
        providerContext: { brokerUrl: config.server.public_url ?? 'http://localhost' },
        // A check builds nothing that serves: one-time ids need a guard, not Redis's.
        replayGuard: new MemoryReplayGuard(),
      });
      for (const p of runtime.providers.values()) void p.close?.();
      summary = `${config.issuers.length} issuers, ${config.workloads.length} workloads, ${config.targets.length} targets, ${config.policies.length} policies (policy hash ${runtime.policy.hash})`;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issues.push(...err.issues);
    }
  }
  const unchecked = [
    ...references.map((r) => `${namedPath(r.path, tree)}: ${r.reference}`),
    ...unreadFiles.map((f) => `${namedPath(f.path, tree)}: ${f.message}`),
  ];
  const unique = [...new Set(issues)];
  return unique.length === 0 && summary !== undefined
    ? { issues: [], unchecked, summary }
    : { issues: unique, unchecked };
}

/**
 * Each `when` compiled on its own, so every bad condition is named even when the policy
 * engine, which stops at the first, cannot be built.
 */
function conditionIssues(tree: unknown): FileIssue[] {
  const policies = (tree as { policies?: unknown }).policies;
  if (!Array.isArray(policies)) return [];
  return policies.flatMap((policy: unknown, i): FileIssue[] => {
    const when = (policy as { when?: unknown } | null)?.when;
    if (typeof when !== 'string') return [];
    try {
      compileCondition(when);
      return [];
    } catch (err) {
      return [{ path: ['policies', i, 'when'], message: (err as Error).message }];
    }
  });
}
