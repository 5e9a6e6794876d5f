import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { scopeFromString } from '../api/oauth/scope-string.js';
import { grantNeedsApproval } from '../approvals/rule.js';
import { ConfigError, formatIssues } from '../config/load.js';
import { standInSecrets, type UncheckedReference } from '../config/offline-secrets.js';
import { configSchema } from '../config/schema.js';
import { buildPolicySet, type PolicySet } from '../policy/offline.js';
import type { PolicyRequest } from '../policy/types.js';

const taskSchema = z
  .object({
    id: z.string().min(1).max(128).default('case'),
    intent: z.string().min(1).max(64),
    tool: z.string().min(1).max(128).optional(),
    context: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const policyCaseSchema = z
  .object({
    name: z.string().min(1).max(200),
    /** Another configuration for this case (relative to the cases file); default the CLI's. */
    config: z.string().min(1).optional(),
    workload: z.string().min(1),
    /** Claims of the workload's identity token. */
    claims: z.record(z.string(), z.unknown()).default({}),
    /** A verified actor token: `issuer` is a configured issuer's name or its `iss`. */
    actor: z
      .object({
        issuer: z.string().min(1),
        subject: z.string().min(1),
        claims: z.record(z.string(), z.unknown()).default({}),
      })
      .strict()
      .optional(),
    target: z.string().min(1),
    /** JSON scope, or the scope-string syntax of `/oauth/token` (`tickets:read repo=acme/x`). */
    scope: z.union([z.record(z.string(), z.unknown()), z.string().min(1)]),
    ttl: z.number().int().positive().optional(),
    task: taskSchema,
    ip: z.string().optional(),
    /** The request's time (ISO 8601); default now. */
    time: z.iso.datetime({ offset: true }).optional(),
    expect: z.enum(['allow', 'deny', 'approval']),
    /** For a denial: its code or any of its reason codes. */
    code: z.string().min(1).optional(),
    /** The deciding policy (allow, approval) or the refusing deny rule. */
    policy: z.string().min(1).optional(),
  })
  .strict();
export type PolicyCase = z.infer<typeof policyCaseSchema>;

const casesFileSchema = z.object({ cases: z.array(policyCaseSchema).min(1) }).strict();

export interface CaseResult {
  name: string;
  expected: string;
  got: string;
  code: string;
  policy: string;
  pass: boolean;
}

/** Reads a configuration for deciding only: secrets stand in, nothing is read or reached. */
export function loadPolicySet(file: string): PolicySet {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'), { maxAliasCount: 100 }) ?? {};
  } catch (err) {
    throw new ConfigError([`${file}: ${(err as Error).message.split('\n')[0]}`]);
  }
  const references: UncheckedReference[] = [];
  const tree = standInSecrets(raw, references);
  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error, [], { root: tree }));
  const config = parsed.data;
  return {
    ...buildPolicySet(config, {
      brokerUrl: config.server.public_url ?? 'http://localhost',
    }),
  };
}

export function readCases(file: string): PolicyCase[] {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'), { maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([`${file}: ${(err as Error).message.split('\n')[0]}`]);
  }
  const parsed = casesFileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error, [], { root: raw }));
  return parsed.data.cases;
}

/**
 * Runs every case against its configuration's policy engine and says, for each, what was
 * expected and what the engine decided. Approval is the deciding policy's `approval` rule
 * applied to the grant, as issuance applies it.
 */
export function runPolicyCases(configFile: string, casesFile: string): CaseResult[] {
  const cases = readCases(casesFile);
  const sets = new Map<string, PolicySet>();
  const setFor = (file: string): PolicySet => {
    let set = sets.get(file);
    if (set === undefined) {
      set = loadPolicySet(file);
      sets.set(file, set);
    }
    return set;
  };
  try {
    return cases.map((c) => {
      const file = c.config === undefined ? configFile : resolve(dirname(casesFile), c.config);
      return runCase(setFor(file), c);
    });
  } finally {
    for (const set of sets.values()) set.close();
  }
}

function runCase(set: PolicySet, c: PolicyCase): CaseResult {
  const expected = `${c.expect}${c.code === undefined ? '' : ` ${c.code}`}`;
  const result = (got: string, code: string, policy: string, pass: boolean): CaseResult => ({
    name: c.name,
    expected,
    got,
    code,
    policy,
    pass,
  });
  const workload = set.workloads.get(c.workload);
  if (workload === undefined) return result('error', 'unknown workload', '', false);
  let scope: unknown;
  try {
    scope = typeof c.scope === 'string' ? scopeFromString(c.scope) : c.scope;
  } catch (err) {
    return result('error', (err as Error).message, '', false);
  }
  const actor =
    c.actor === undefined
      ? undefined
      : {
          subject: c.actor.subject,
          issuer: set.issuers.get(c.actor.issuer) ?? c.actor.issuer,
          claims: c.actor.claims,
        };
  const task: PolicyRequest['task'] = {
    id: c.task.id,
    intent: c.task.intent,
    ...(c.task.tool === undefined ? {} : { tool: c.task.tool }),
    ...(c.task.context === undefined ? {} : { context: c.task.context }),
  };
  const decision = set.engine.decide({
    workload: { id: workload.id, tier: workload.tier },
    claims: c.claims,
    ...(actor === undefined ? {} : { actor }),
    target: c.target,
    scope,
    ...(c.ttl === undefined ? {} : { ttlMs: c.ttl * 1000 }),
    task,
    request: {
      time: c.time === undefined ? Date.now() : Date.parse(c.time),
      ...(c.ip === undefined ? {} : { ip: c.ip }),
    },
  });
  if (!decision.allow) {
    const codes = [decision.code, ...decision.reasons.map((r) => r.code)];
    const policy = decision.deniedBy ?? '';
    const pass =
      c.expect === 'deny' &&
      (c.code === undefined || codes.includes(c.code)) &&
      (c.policy === undefined || c.policy === policy);
    const shown = [...new Set(codes)].join(',');
    return result('deny', shown, policy, pass);
  }
  const rule = set.engine.policyConfig(decision.policy)?.approval;
  const got = grantNeedsApproval(rule, decision, { tier: workload.tier, tool: task.tool })
    ? 'approval'
    : 'allow';
  const pass =
    c.expect === got &&
    c.code === undefined &&
    (c.policy === undefined || c.policy === decision.policy);
  return result(got, '', decision.policy, pass);
}
