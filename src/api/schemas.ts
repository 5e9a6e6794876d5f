import { z } from '@hono/zod-openapi';
import type { CredentialRequest } from '../broker/index.js';
import { LEASE_STATES, type Lease } from '../leases/types.js';
import { withinDepth } from '../lib/json-depth.js';

/**
 * Task fields reach logs, syslog/CEF, consoles and provider-side tags (AWS session tags,
 * role comments), so their length and characters are checked before anything else.
 */
export const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9._:@#/-]{0,127}$/;
const MAX_CONTEXT_BYTES = 4096;
const MAX_CONTEXT_DEPTH = 16;

export const TaskSchema = z
  .object({
    id: z.string().regex(TASK_ID, 'task.id: 1-128 of A-Z a-z 0-9 . _ : @ # / -'),
    intent: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'task.intent: 1-64 of a-z 0-9 . _ -'),
    tool: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, 'task.tool: 1-128 of A-Z a-z 0-9 . _ : / -')
      .optional(),
    context: z
      .record(z.string(), z.unknown())
      .refine((v) => withinDepth(v, MAX_CONTEXT_DEPTH), {
        message: `task.context nests deeper than ${MAX_CONTEXT_DEPTH} levels`,
        abort: true,
      })
      .refine((v) => Buffer.byteLength(JSON.stringify(v)) <= MAX_CONTEXT_BYTES, {
        message: `task.context is larger than ${MAX_CONTEXT_BYTES} bytes`,
      })
      .optional(),
  })
  .strict()
  .openapi('Task');

/** A validated task as the Broker takes it (zod's optional fields may hold `undefined`). */
export function taskOf(task: z.infer<typeof TaskSchema>): CredentialRequest['task'] {
  return {
    id: task.id,
    intent: task.intent,
    ...(task.tool === undefined ? {} : { tool: task.tool }),
    ...(task.context === undefined ? {} : { context: task.context }),
  };
}

export const CredentialRequestSchema = z
  .object({
    target: z.string().min(1).max(64).openapi({ example: 'internal-api' }),
    scope: z.record(z.string(), z.unknown()).openapi({ example: { scopes: ['tickets:read'] } }),
    ttl: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .optional()
      .openapi({ description: 'Seconds; default the policy default_ttl' }),
    task: TaskSchema,
  })
  .strict()
  .openapi('CredentialRequest');

/** The task a lease or an approval was asked for, as the answers describe it. */
export const TaskViewSchema = z.object({
  id: z.string(),
  intent: z.string(),
  tool: z.string().optional(),
});

export const LeaseSchema = z
  .object({
    lease_id: z.string(),
    workload: z.string(),
    subject: z.string(),
    issuer: z.string(),
    target: z.string(),
    provider: z.string(),
    scope: z.unknown(),
    task: TaskViewSchema,
    actor: z.string().optional(),
    state: z.enum(LEASE_STATES),
    created_at: z.string(),
    expires_at: z.string(),
    max_expires_at: z.string(),
    revoked_at: z.string().optional(),
    revoke_reason: z.string().optional(),
    attempts: z.number().int(),
    last_error: z.string().optional(),
    policy: z.string(),
    policy_hash: z.string(),
  })
  .openapi('Lease');

export const IssuedSchema = z
  .object({
    lease_id: z.string(),
    target: z.string(),
    provider: z.string(),
    workload: z.string(),
    scope: z.unknown(),
    task: TaskViewSchema,
    issued_at: z.string(),
    expires_at: z.string(),
    credential: z
      .unknown()
      .openapi({ description: 'Provider-specific; shown once, never stored in clear' }),
  })
  .openapi('IssuedCredential');

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string(),
    request_id: z.string(),
    reasons: z
      .array(z.object({ code: z.string(), message: z.string(), policy: z.string().optional() }))
      .optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

/** A prefixed id (`lse_…`, `apr_…`) in the path: at most 64 characters, looked up as given. */
export function prefixedIdParam(example: string) {
  return z.object({
    id: z
      .string()
      .max(64)
      .openapi({ param: { name: 'id', in: 'path' }, example }),
  });
}

export const LeaseIdParam = prefixedIdParam('lse_f801hx3k9q2m7v8c4d6f0g1h2j3k');

/** A workload id as the config allows it (no `:`, which the lease store's keys rely on). */
export const WorkloadId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a workload id: lowercase letters, digits, ".", "_", "-"');

export const WorkloadIdParam = z.object({
  id: WorkloadId.openapi({ param: { name: 'id', in: 'path' }, example: 'github-mcp' }),
});

export const RevocationSchema = z
  .object({ lease_id: z.string(), state: z.enum(LEASE_STATES) })
  .openapi('Revocation');

export const CountsSchema = z
  .object({ revoked: z.number().int(), revoking: z.number().int(), failed: z.number().int() })
  .openapi('RevocationCounts');

/** Problem responses every authenticated route may answer with. */
export function problemResponses(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    401: 'Missing or invalid token',
    403: 'Not allowed',
    404: 'Not found, or not yours',
    409: 'Conflict with the lease state',
    413: 'Body too large',
    422: 'Invalid request',
    429: 'Rate limited or lease cap reached',
    502: 'Provider failed',
    503: 'Lease store or required audit sink unavailable',
  };
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: descriptions[s] ?? 'Error',
        content: { 'application/problem+json': { schema: ProblemSchema } },
      },
    ]),
  );
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A lease as callers see it: metadata only, never the sealed handle or the credential. */
export function leaseView(lease: Lease): z.infer<typeof LeaseSchema> {
  return {
    lease_id: lease.id,
    workload: lease.workload,
    subject: lease.subject,
    issuer: lease.issuer,
    target: lease.target,
    provider: lease.provider,
    scope: lease.scope,
    task: lease.task,
    ...(lease.actor === undefined ? {} : { actor: lease.actor }),
    state: lease.state,
    created_at: iso(lease.createdAt),
    expires_at: iso(lease.expiresAt),
    max_expires_at: iso(lease.maxExpiresAt),
    ...(lease.revokedAt === undefined ? {} : { revoked_at: iso(lease.revokedAt) }),
    ...(lease.revokeReason === undefined ? {} : { revoke_reason: lease.revokeReason }),
    attempts: lease.attempts,
    ...(lease.lastError === undefined ? {} : { last_error: lease.lastError }),
    policy: lease.policy,
    policy_hash: lease.policyHash,
  };
}
