import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { knownKeys, namedPath, nameIssue, nearest } from './issue-path.js';
import { type BrokerConfig, configSchema } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid configuration:\n  - ${issues.join('\n  - ')}`);
    this.issues = issues;
  }
}

const REFERENCE = /\$\{(env|file):([^}]+)\}/g;

/**
 * Replaces `${env:NAME}` and `${file:PATH}` inside every string of the parsed YAML. A
 * reference that cannot be resolved is an error naming the field: secrets have no defaults.
 */
export function resolveReferences(
  value: unknown,
  env: NodeJS.ProcessEnv,
  baseDir: string,
  path: string[] = [],
  issues: string[] = [],
): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (_match, kind: string, ref: string) => {
      const where = path.join('.') || '(root)';
      if (kind === 'env') {
        const found = env[ref];
        if (found === undefined || found === '') {
          issues.push(`${where}: environment variable ${ref} is not set`);
          return '';
        }
        return found;
      }
      try {
        return readFileSync(resolve(baseDir, ref), 'utf8').trimEnd();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
        issues.push(`${where}: cannot read file ${ref} (${code})`);
        return '';
      }
    });
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => resolveReferences(v, env, baseDir, [...path, String(i)], issues));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        resolveReferences(v, env, baseDir, [...path, k], issues),
      ]),
    );
  }
  return value;
}

export interface IssueContext {
  /** The whole config tree, so list entries are named (`policies[triage]`). */
  root?: unknown;
  /** The schema that produced the error, so an unknown key gets a "did you mean". */
  schema?: z.ZodType;
}

/** The one format of a config problem: `path.by[name]: message`, for validate and serve alike. */
export function formatIssues(
  error: z.ZodError,
  prefix: readonly (string | number)[] = [],
  context: IssueContext = {},
): string[] {
  return error.issues.map((issue) => {
    const segments = [...prefix, ...issue.path];
    const path =
      context.root === undefined
        ? segments.map(String).join('.') || '(root)'
        : namedPath(segments, context.root);
    if (issue.code === 'unrecognized_keys' && context.schema !== undefined) {
      const known = knownKeys(context.schema, issue.path);
      const keys = issue.keys.map((key) => {
        const meant = nearest(key, known);
        return meant === undefined ? `"${key}"` : `"${key}" (did you mean "${meant}"?)`;
      });
      return `${path}: unknown key${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
    }
    return `${path}: ${issue.message}`;
  });
}

/** Parses and validates config text. Throws ConfigError listing every bad field. */
export function parseConfig(
  text: string,
  options: { env?: NodeJS.ProcessEnv; baseDir?: string } = {},
): BrokerConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([`YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  const issues: string[] = [];
  const resolved = resolveReferences(
    raw ?? {},
    options.env ?? process.env,
    options.baseDir ?? process.cwd(),
    [],
    issues,
  );
  if (issues.length > 0) throw new ConfigError(issues.map((issue) => nameIssue(issue, raw)));
  const parsed = configSchema.safeParse(resolved);
  if (!parsed.success) {
    throw new ConfigError(formatIssues(parsed.error, [], { root: resolved, schema: configSchema }));
  }
  return parsed.data;
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): BrokerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([
      `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    ]);
  }
  return parseConfig(text, { env, baseDir: resolve(file, '..') });
}
