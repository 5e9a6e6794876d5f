import { z } from 'zod';
import { detectionsSchema } from '../detections/config.js';
import { proxyList } from '../lib/forwarded.js';
import { revocationSchema } from '../revocation/config.js';
import { ssfSchema } from '../ssf/config.js';
import { duration } from './duration.js';
import { reviewWarningSchema, workloadLifecycleFields } from './workload-lifecycle.js';

/**
 * The broker's configuration file. Target entries are checked here only for `name` and
 * `provider`; each provider factory validates the rest of its entry, and policy `allow`
 * blocks are validated against the target's ceiling schema (see `load.ts`).
 */

const name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-" only');

export const TIERS = ['read', 'write', 'admin'] as const;
export type Tier = (typeof TIERS)[number];

export const JWS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

const serverSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** The broker's own URL: `iss` of the tokens it signs, base of the JWKS. */
    public_url: z.url().optional(),
    body_limit: z.number().int().positive().max(1_048_576).default(65_536),
    /**
     * Whom to believe about the client's address. `false`: the connection's peer. A number
     * (or `true`, meaning 1): that many reverse proxies append to `X-Forwarded-For` in front
     * of the broker. A list: the addresses or CIDR ranges of those proxies.
     */
    trust_proxy: z
      .union([
        z.boolean(),
        z.number().int().min(1).max(16),
        z
          .array(z.string().min(1).max(64))
          .min(1)
          .max(64)
          .superRefine((list, ctx) => {
            try {
              proxyList(list);
            } catch (err) {
              ctx.addIssue({ code: 'custom', message: (err as Error).message });
            }
          }),
      ])
      .default(false),
    tls: z
      .object({ cert: z.string().min(1), key: z.string().min(1) })
      .strict()
      .optional(),
    /** When set, `/metrics` requires `Authorization: Bearer <token>`. */
    metrics_token: z.string().min(16).optional(),
  })
  .strict();

const redisSchema = z
  .object({
    url: z.string().default('redis://127.0.0.1:6379'),
    mode: z.enum(['standalone', 'sentinel', 'cluster']).default('standalone'),
    key_prefix: z
      .string()
      .regex(/^[A-Za-z0-9:_-]{1,32}$/)
      .default('jit'),
    /** Refuse to start when Redis keeps no append-only file. */
    require_aof: z.boolean().default(false),
    nodes: z.array(z.object({ host: z.string(), port: z.number().int() }).strict()).optional(),
    sentinel: z
      .object({
        name: z.string(),
        sentinels: z.array(z.object({ host: z.string(), port: z.number().int() }).strict()).min(1),
        /** When the sentinels themselves require AUTH (`${env:…}`/`${file:…}`). */
        username: z.string().min(1).optional(),
        password: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const tokenReviewSchema = z
  .object({
    /** Kubernetes API server base URL (`https://kubernetes.default.svc`). */
    api_server: z.url(),
    /** The broker's own service-account token (needs `system:auth-delegator`), read per call. */
    bearer_token_file: z.string().min(1),
    /** PEM CA bundle for the API server; defaults to the system roots. */
    ca_file: z.string().min(1).optional(),
    /** How long a review's answer is reused for the same token. */
    cache: duration.default(10_000).refine((ms) => ms <= 300_000, 'at most 5m'),
  })
  .strict();

/** Where a token issuer's keys come from: OpenID discovery from `issuer`, a `jwks_uri`, or a local JWKS file. */
const jwksSource = {
  discovery: z.boolean().default(false),
  jwks_uri: z.url().optional(),
  jwks_file: z.string().optional(),
};

/** The signature algorithms accepted from a token issuer, and the clock skew its tokens are allowed. */
const signatureChecks = {
  algorithms: z.array(z.enum(JWS_ALGORITHMS)).min(1).default(['RS256', 'ES256']),
  clock_tolerance: duration.default(30_000).refine((ms) => ms <= 60_000, 'at most 60s'),
};

export const issuerSchema = z
  .object({
    name,
    profile: z.enum(['oidc', 'kubernetes', 'github-actions', 'spiffe']).default('oidc'),
    /** Exact `iss` value the tokens carry; for `spiffe`, the trust domain as `spiffe://<td>`. */
    issuer: z.string().min(1),
    /** The audience workload tokens must carry for this broker. */
    audience: z.string().min(1),
    ...jwksSource,
    /** `spiffe` only: the trust bundle (a JWKS with `use: jwt-svid` keys), file or HTTPS URL. */
    bundle_file: z.string().min(1).optional(),
    bundle_url: z.url().optional(),
    ...signatureChecks,
    max_token_age: duration.optional(),
    /** Plain-HTTP discovery/JWKS is refused unless this is set, and then only on loopback. */
    allow_insecure_loopback: z.boolean().default(false),
    /** PEM CA bundle trusted for this issuer's discovery, JWKS and bundle fetches. */
    ca_file: z.string().min(1).optional(),
    /** Sent as `Authorization: Bearer` on key fetches (in-cluster Kubernetes); read per fetch. */
    bearer_token_file: z.string().min(1).optional(),
    /** When key refreshes keep failing, cached keys stay usable this long, then the issuer fails closed. */
    jwks_max_age: duration.default(3_600_000).refine((ms) => ms >= 60_000, 'at least 1m'),
    /** Each `jti` is accepted once (for issuers that mint a token per request). */
    one_time_jti: z.boolean().default(false),
    /** `kubernetes` only: confirm each token with the TokenReview API. */
    token_review: tokenReviewSchema.optional(),
  })
  .strict()
  .superRefine((i, ctx) => {
    const fail = (message: string, path: string) =>
      ctx.addIssue({ code: 'custom', message, path: [path] });
    if (i.profile === 'spiffe') {
      if ((i.bundle_file === undefined) === (i.bundle_url === undefined)) {
        fail('a spiffe issuer needs exactly one of bundle_file or bundle_url', 'bundle_file');
      }
      if (i.discovery || i.jwks_uri !== undefined || i.jwks_file !== undefined) {
        fail('a spiffe issuer takes its keys from bundle_file or bundle_url only', 'jwks_uri');
      }
    } else {
      if (!(i.discovery || i.jwks_uri !== undefined || i.jwks_file !== undefined)) {
        fail('set one of discovery: true, jwks_uri or jwks_file', 'discovery');
      }
      if (i.bundle_file !== undefined || i.bundle_url !== undefined) {
        fail('bundle_file and bundle_url are for spiffe issuers', 'bundle_file');
      }
    }
    if (i.token_review !== undefined && i.profile !== 'kubernetes') {
      fail('token_review is for kubernetes issuers', 'token_review');
    }
  });
export type IssuerConfig = z.infer<typeof issuerSchema>;

export const workloadSchema = z
  .object({
    id: name,
    issuer: name,
    /** Exact subject, or a glob where `*` matches within one `:`/`/` segment and `**` across. */
    subject: z.string().min(1),
    /** Further claims that must match (string equality, or any of a list). */
    claims: z.record(z.string(), z.union([z.string(), z.array(z.string()).min(1)])).optional(),
    tier: z.enum(TIERS),
    max_active_leases: z.number().int().positive().max(1_000_000).default(10_000),
    /**
     * Who owns a lease when several identities map to this workload (a subject glob): the
     * workload (any of its identities may read and revoke it), or the identity it was
     * issued to (default: the workload). Renewal is always the issuing identity's alone.
     */
    lease_owner: z.enum(['workload', 'identity']).optional(),
    ...workloadLifecycleFields,
  })
  .strict();
export type WorkloadConfig = z.infer<typeof workloadSchema>;

export const targetBaseSchema = z.looseObject({ name, provider: z.string() });

/** Request fields an actor token's claims can be bound to (`bind: { task_id: task.id }`). */
export const ACTOR_BINDABLE_FIELDS = [
  'task.id',
  'task.intent',
  'task.tool',
  'workload.id',
  'target',
] as const;
export type ActorBindableField = (typeof ACTOR_BINDABLE_FIELDS)[number];

const claimName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z_][A-Za-z0-9_.:-]*$/, 'a claim name');

/**
 * `require_actor` as an object: the actor token must come from one of `issuers` (configured
 * identity issuers), each `bind` claim must equal its request field, `user_claim` is
 * recorded as the actor's user, and `one_time` refuses a token already used for another task.
 */
export const actorRequirementSchema = z
  .object({
    issuers: z.array(name).min(1),
    bind: z.record(claimName, z.enum(ACTOR_BINDABLE_FIELDS)).default({}),
    user_claim: claimName.optional(),
    one_time: z.boolean().default(false),
  })
  .strict();
export type ActorRequirement = z.infer<typeof actorRequirementSchema>;

export const POLICY_MODES = ['enforce', 'dry_run'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

/**
 * When a grant waits for an operator's yes: `required` for every grant of the policy, or an
 * object narrowing it to some tools, tiers and scopes (a request needs approval when its tool
 * matches one of `tools`, its workload's tier is one of `tiers`, or its scope is not within
 * the ceiling `beyond`, checked by the target's provider; none set means every grant).
 * `expires_after` bounds the wait and the collection; `webhook` is told of each new request
 * in addition to `approvals.webhook`.
 */
export const approvalRuleSchema = z.union([
  z.literal('required'),
  z
    .object({
      required: z.boolean().default(true),
      tools: z.array(z.string().min(1).max(128)).min(1).max(256).optional(),
      tiers: z.array(z.enum(TIERS)).min(1).optional(),
      /** A ceiling in the target provider's own terms: a scope not within it waits. */
      beyond: z.unknown().optional(),
      expires_after: duration
        .refine((ms) => ms >= 10_000 && ms <= 86_400_000, 'between 10s and 24h')
        .optional(),
      webhook: z.url().optional(),
    })
    .strict(),
]);
export type ApprovalRuleConfig = z.infer<typeof approvalRuleSchema>;

const budgetLimit = z.number().int().min(1).max(1_000_000).optional();
/**
 * Per-policy budgets, shared by every replica through Redis: requests per fixed `window`
 * and live leases, each per workload, per task and for the whole policy.
 */
export const budgetsSchema = z
  .object({
    requests: z
      .object({
        per_workload: budgetLimit,
        per_task: budgetLimit,
        per_policy: budgetLimit,
        window: duration
          .default(60_000)
          .refine((ms) => ms >= 1_000 && ms <= 86_400_000, 'between 1s and 24h'),
      })
      .strict()
      .optional(),
    live_leases: z
      .object({ per_workload: budgetLimit, per_task: budgetLimit, per_policy: budgetLimit })
      .strict()
      .optional(),
  })
  .strict();
export type BudgetsConfig = z.infer<typeof budgetsSchema>;

export const policySchema = z
  .object({
    name,
    /** `allow` (default) grants up to its ceiling; `deny` refuses whatever any allow grants. */
    effect: z.enum(['allow', 'deny']).default('allow'),
    /** `dry_run`: decided and recorded (`policy.dry_run`), never enforced. Default: the set's mode. */
    mode: z.enum(POLICY_MODES).optional(),
    /** Workload ids, globs (`agents-*`), or `tier:<tier>` to match every workload of a tier. */
    workloads: z.array(z.string().min(1)).min(1),
    target: name,
    /** The scope ceiling, in the target provider's own terms (allow policies). */
    allow: z.unknown().optional(),
    intents: z.array(z.string().min(1).max(64)).min(1),
    /** Tool globs; when set, the request's `task.tool` is required and must match one. */
    tools: z.array(z.string().min(1).max(128)).min(1).max(256).optional(),
    /** Per-tool ceilings (tool glob → ceiling), each narrower than `allow` for its tools. */
    tool_ceilings: z.record(z.string().min(1).max(128), z.unknown()).optional(),
    default_ttl: duration.optional(),
    max_ttl: duration.optional(),
    /** Optional CEL condition over workload, claims, actor, task, scope, request. */
    when: z.string().max(4096).optional(),
    /**
     * `true`: a verified actor/task assertion (RFC 8693 actor_token) is required. An object
     * also names its trusted issuers and binds its claims to the request.
     */
    require_actor: z.union([z.boolean(), actorRequirementSchema]).default(false),
    /** A human must approve each grant first (see `approvalRuleSchema`). */
    approval: approvalRuleSchema.optional(),
    budgets: budgetsSchema.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const fail = (message: string, path: string) =>
      ctx.addIssue({ code: 'custom', message, path: [path] });
    if (p.effect === 'deny') {
      for (const key of [
        'allow',
        'tool_ceilings',
        'default_ttl',
        'max_ttl',
        'approval',
        'budgets',
      ] as const) {
        if (p[key] !== undefined) fail(`a deny rule grants nothing: remove ${key}`, key);
      }
      return;
    }
    if (p.default_ttl === undefined) fail('an allow policy needs default_ttl', 'default_ttl');
    if (p.max_ttl === undefined) fail('an allow policy needs max_ttl', 'max_ttl');
    // Both bounds at once: named at the policy, as the pair is what is wrong.
    if (p.default_ttl !== undefined && p.max_ttl !== undefined && p.default_ttl > p.max_ttl) {
      ctx.addIssue({ code: 'custom', message: 'default_ttl exceeds max_ttl', path: [] });
    }
    if (p.default_ttl !== undefined && p.default_ttl < 1000) {
      ctx.addIssue({ code: 'custom', message: 'default_ttl must be at least 1s', path: [] });
    }
  });
export type PolicyConfig = z.infer<typeof policySchema>;

const operatorIssuerSchema = z
  .object({
    name,
    issuer: z.string().min(1),
    /** Must differ from every workload audience, so a workload token is never an operator's. */
    audience: z.string().min(1),
    ...jwksSource,
    ...signatureChecks,
    allow_insecure_loopback: z.boolean().default(false),
    /** Claim holding the roles (string or array); values viewer, revoker, admin. */
    roles_claim: z.string().default('roles'),
  })
  .strict()
  .refine((i) => i.discovery || i.jwks_uri !== undefined || i.jwks_file !== undefined, {
    message: 'set one of discovery: true, jwks_uri or jwks_file',
  });
export type OperatorIssuerConfig = z.infer<typeof operatorIssuerSchema>;

/**
 * `viewer` ⊂ `revoker` ⊂ `admin`; `approver` stands apart: it may list, approve and deny
 * approvals and nothing else (an admin may too).
 */
export const OPERATOR_ROLES = ['viewer', 'revoker', 'admin', 'approver'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

const breakGlassSchema = z
  .object({
    name,
    /** `sha256:<64 hex>` of the token printed by `jit-broker operators token`. */
    hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 lowercase hex>'),
    role: z.enum(OPERATOR_ROLES),
    expires_at: z.iso.datetime({ offset: true }),
  })
  .strict();
export type BreakGlassConfig = z.infer<typeof breakGlassSchema>;

const operatorsSchema = z
  .object({
    issuers: z.array(operatorIssuerSchema).default([]),
    break_glass: z.array(breakGlassSchema).default([]),
  })
  .strict();

/**
 * Event sinks, by kind. Entries are checked here only for their shape; each kind's schema
 * (`src/events/sinks/<kind>/config.ts`) validates the rest when the runtime is built, as
 * provider factories do for targets.
 */
const sinkEntry = z.looseObject({});
const eventsSchema = z
  .object({
    stdout: sinkEntry.default({}),
    redis_stream: sinkEntry.default({}),
    http: z.array(sinkEntry).default([]),
    syslog: z.array(sinkEntry).default([]),
    /** The audit chain's signing keys; `src/events/signing/config.ts` reads them. */
    signing: z.looseObject({}).optional(),
  })
  .strict();

const encryptionSchema = z
  .object({
    /** AES-256 keys, base64 (32 bytes). The first is used to seal; all open. */
    keys: z
      .array(
        z
          .object({
            id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
            key: z.string().min(1),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

const leasesSchema = z
  .object({
    /** Finished leases stay readable this long, then expire. */
    retention: duration.default(86_400_000),
    /** A lease still `pending` this long after creation is treated as a crashed mint. */
    pending_timeout: duration.default(120_000),
    reaper: z
      .object({
        interval: duration.default(1_000),
        batch: z.number().int().positive().max(10_000).default(500),
        claim_timeout: duration.default(60_000),
        max_attempts: z.number().int().min(1).max(50).default(8),
        backoff_base: duration.default(1_000),
        backoff_max: duration.default(300_000),
      })
      .strict()
      .default({
        interval: 1_000,
        batch: 500,
        claim_timeout: 60_000,
        max_attempts: 8,
        backoff_base: 1_000,
        backoff_max: 300_000,
      }),
    /** Deadline of a kill-switch call; what is left is finished by the reaper. */
    kill_switch_deadline: duration.default(10_000),
    /**
     * Providers that can list what they created (database roles and users) drop anything
     * under the broker's prefix with no live lease, older than `sweep_grace`.
     */
    sweep_interval: duration.default(300_000),
    sweep_grace: duration.default(600_000),
  })
  .strict();

/**
 * A resource the broker issues tokens for by its canonical URI (RFC 8707, the MCP
 * authorization spec): `resource=<uri>` on `/oauth/token` gets a token of `target`, whose
 * audience must be exactly `uri` (checked at start). `scopes` are what the resource
 * understands: requests are held to them, and the metadata document lists them.
 */
export const resourceSchema = z
  .object({
    uri: z.string().min(1).max(512),
    target: name,
    scopes: z.array(z.string().min(1).max(128)).min(1).max(256).optional(),
  })
  .strict();
export type ResourceConfig = z.infer<typeof resourceSchema>;

/**
 * An enterprise identity provider whose Identity Assertion JWT Authorization Grants (ID-JAG)
 * `/oauth/token` redeems. Its keys come from discovery, `jwks_uri` or `jwks_file`; every
 * grant's `jti` is accepted once.
 */
export const enterpriseIdpSchema = z
  .object({
    name,
    /** Exact `iss` of the grants. */
    issuer: z.string().min(1),
    ...jwksSource,
    ...signatureChecks,
    /** Grants older than this are refused, whatever their `exp` says. */
    max_token_age: duration.default(600_000),
    allow_insecure_loopback: z.boolean().default(false),
    ca_file: z.string().min(1).optional(),
    jwks_max_age: duration.default(3_600_000).refine((ms) => ms >= 60_000, 'at least 1m'),
  })
  .strict()
  .superRefine((i, ctx) => {
    const sources = [i.discovery, i.jwks_uri !== undefined, i.jwks_file !== undefined];
    if (sources.filter(Boolean).length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'set exactly one of discovery: true, jwks_uri or jwks_file',
        path: ['discovery'],
      });
    }
  });
export type EnterpriseIdpConfig = z.infer<typeof enterpriseIdpSchema>;

/** Approvals in general; a policy's `approval` rule says which grants need one. */
const approvalsSchema = z
  .object({
    /** How long a request waits for a decision, and an approved one for its collection. */
    expires_after: duration
      .default(600_000)
      .refine((ms) => ms >= 10_000 && ms <= 86_400_000, 'between 10s and 24h'),
    /** Told of every new request (POST, JSON, no secrets, best effort). */
    webhook: z.url().optional(),
    webhook_timeout: duration.default(3_000).refine((ms) => ms <= 30_000, 'at most 30s'),
    /** Undecided requests held at once, all workloads together; more are refused (429). */
    max_pending: z.number().int().min(1).max(100_000).default(1_000),
    /** Undecided requests of one workload: one workload cannot take every place. */
    max_pending_per_workload: z.number().int().min(1).max(10_000).default(20),
  })
  .strict();
export type ApprovalsConfig = z.infer<typeof approvalsSchema>;

export const configSchema = z
  .object({
    server: serverSchema.default(serverSchema.parse({})),
    redis: redisSchema.default(redisSchema.parse({})),
    issuers: z.array(issuerSchema).default([]),
    workloads: z.array(workloadSchema).default([]),
    targets: z.array(targetBaseSchema).default([]),
    policies: z.array(policySchema).default([]),
    /** The mode of every policy that names none: `dry_run` records decisions without enforcing. */
    policy_mode: z.enum(POLICY_MODES).default('enforce'),
    /** Resources named by canonical URI on `/oauth/token` (RFC 8707). */
    resources: z.array(resourceSchema).default([]),
    /** Identity providers whose ID-JAGs `/oauth/token` redeems. */
    enterprise_idps: z.array(enterpriseIdpSchema).default([]),
    operators: operatorsSchema.default({ issuers: [], break_glass: [] }),
    events: eventsSchema.default(eventsSchema.parse({})),
    encryption: encryptionSchema,
    leases: leasesSchema.default(leasesSchema.parse({})),
    approvals: approvalsSchema.default(approvalsSchema.parse({})),
    /** Rules over the broker's own events that alert, hold for approval or block (`src/detections/`). */
    detections: detectionsSchema,
    /** How long before a workload's `review_by` the `workload.review_due` warning starts. */
    review_warning: reviewWarningSchema,
    /** Shared Signals transmitter: CAEP SETs pushed to receivers (`src/ssf/config.ts`). */
    ssf: ssfSchema.optional(),
    /** Proof of revocation: which revocations are verified at the target (`src/revocation/`). */
    revocation: revocationSchema.default(revocationSchema.parse({})),
  })
  .strict();

export type BrokerConfig = z.infer<typeof configSchema>;
