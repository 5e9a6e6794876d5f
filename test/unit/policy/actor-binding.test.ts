import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Provider } from '../../../providers/provider.js';
import type { PolicyConfig } from '../../../src/config/schema.js';
import { BrokerError } from '../../../src/errors.js';
import { MemoryActorUseLedger, RedisActorUseLedger } from '../../../src/policy/actor-ledger.js';
import { type Decision, PolicyEngine, type PolicyRequest } from '../../../src/policy/engine.js';
import { claimActorUse } from '../../../src/policy/issuance.js';
import { filesPolicy, jwtTarget } from '../../helpers/policy-fixtures.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../../helpers/services.js';

const PROVIDERS: ReadonlyMap<string, Provider> = new Map([
  ['files-api', jwtTarget('files-api', 'https://files.test')],
]);

const TRUSTED = 'https://idp.example.com';
const ISSUERS = new Map([
  ['corp-idp', TRUSTED],
  ['other-idp', 'https://other.example.com'],
]);

function policy(requireActor: unknown): PolicyConfig {
  return filesPolicy({ name: 'bound', require_actor: requireActor });
}

const BOUND = {
  issuers: ['corp-idp'],
  bind: { task_id: 'task.id', intent: 'task.intent' },
  user_claim: 'email',
  one_time: true,
};

const EXP = Math.floor(Date.parse('2030-01-15T11:00:00Z') / 1000);

function request(actor?: PolicyRequest['actor']): PolicyRequest {
  return {
    workload: { id: 'files-mcp', tier: 'write' },
    claims: {},
    target: 'files-api',
    scope: { scopes: ['files:read'] },
    task: { id: 'task-1', intent: 'refund' },
    request: { time: Date.parse('2030-01-15T10:00:00Z') },
    ...(actor === undefined ? {} : { actor }),
  };
}

const actor = (claims: Record<string, unknown>, issuer = TRUSTED) => ({
  subject: 'alice',
  issuer,
  claims: {
    task_id: 'task-1',
    intent: 'refund',
    email: 'alice@example.com',
    jti: 'j1',
    exp: EXP,
    ...claims,
  },
});

const decide = (requirement: unknown, req: PolicyRequest): Decision =>
  new PolicyEngine([policy(requirement)], PROVIDERS, { actorIssuers: ISSUERS }).decide(req);

const code = (d: Decision) => (d.allow ? 'allow' : d.reasons[0]?.code);

describe('require_actor binds the actor token to the request', () => {
  const cases: {
    name: string;
    requirement: unknown;
    req: PolicyRequest;
    want: string | undefined;
  }[] = [
    {
      name: 'true: no actor is refused',
      requirement: true,
      req: request(),
      want: 'actor_required',
    },
    {
      name: 'true: any verified actor passes',
      requirement: true,
      req: request(actor({}, 'https://any')),
      want: 'allow',
    },
    {
      name: 'bound: no actor is refused',
      requirement: BOUND,
      req: request(),
      want: 'actor_required',
    },
    {
      name: 'bound: an actor of an untrusted issuer is refused',
      requirement: BOUND,
      req: request(actor({}, 'https://other.example.com')),
      want: 'actor_issuer_untrusted',
    },
    {
      name: 'bound: a task_id claim for another task is refused',
      requirement: BOUND,
      req: request(actor({ task_id: 'task-2' })),
      want: 'actor_unbound',
    },
    {
      name: 'bound: an intent claim for another intent is refused',
      requirement: BOUND,
      req: request(actor({ intent: 'delete' })),
      want: 'actor_unbound',
    },
    {
      name: 'bound: a missing bound claim is refused',
      requirement: BOUND,
      req: request(actor({ task_id: undefined })),
      want: 'actor_unbound',
    },
    {
      name: 'bound: a non-string bound claim is refused',
      requirement: BOUND,
      req: request(actor({ task_id: ['task-1'] })),
      want: 'actor_unbound',
    },
    {
      name: 'bound: no user claim is refused',
      requirement: BOUND,
      req: request(actor({ email: undefined })),
      want: 'actor_unbound',
    },
    {
      name: 'bound: a one-time token without jti is refused',
      requirement: BOUND,
      req: request(actor({ jti: undefined })),
      want: 'actor_unbound',
    },
    {
      name: 'bound: a binding token passes',
      requirement: BOUND,
      req: request(actor({})),
      want: 'allow',
    },
  ];
  for (const c of cases) {
    it(c.name, () => expect(code(decide(c.requirement, c.req))).toBe(c.want));
  }

  it('a valid token records its user and the one-time use', () => {
    const d = decide(BOUND, request(actor({})));
    expect(d.allow && d.actorUser).toBe('alice@example.com');
    expect(d.allow && d.actorUse).toEqual({
      issuer: TRUSTED,
      jti: 'j1',
      taskId: 'task-1',
      expiresAt: EXP * 1000,
    });
  });

  it('reasons name claims and fields, never claim values', () => {
    const d = decide(BOUND, request(actor({ task_id: 'secret-looking-value' })));
    expect(JSON.stringify(d)).not.toContain('secret-looking-value');
  });
});

describe('one-time actor tokens', () => {
  const use = (taskId: string, jti = 'j1') => ({
    issuer: TRUSTED,
    jti,
    taskId,
    expiresAt: Date.now() + 60_000,
  });

  it('in memory: the same task again passes, another task is refused', async () => {
    const ledger = new MemoryActorUseLedger();
    expect(await ledger.claim(use('task-1'))).toBe(true);
    expect(await ledger.claim(use('task-1'))).toBe(true);
    expect(await ledger.claim(use('task-2'))).toBe(false);
    expect(await ledger.claim(use('task-2', 'j2'))).toBe(true);
  });

  it('issuance refuses a reused token with actor_token_reused, and fails closed without a ledger', async () => {
    const grant = decide(BOUND, request(actor({})));
    if (!grant.allow) throw new Error('expected a grant');
    const ledger = new MemoryActorUseLedger();
    await claimActorUse(ledger, grant);
    const other = decide(BOUND, {
      ...request(actor({ task_id: 'task-9' })),
      task: { id: 'task-9', intent: 'refund' },
    });
    if (!other.allow) throw new Error('expected a grant');
    const err = await claimActorUse(ledger, other).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).reasons.map((r) => r.code)).toEqual(['actor_token_reused']);
    const closed = await claimActorUse(undefined, grant).catch((e: unknown) => e);
    expect((closed as BrokerError).code).toBe('store_unavailable');
  });

  describe('in Redis, shared by replicas', () => {
    let redis: Redis | undefined;
    const prefix = uniquePrefix('actor');
    beforeAll(async () => {
      if (await requireService('Redis', await redisAvailable())) redis = new Redis(REDIS_URL);
    });
    afterAll(async () => {
      if (redis) {
        await deletePrefix(redis, `${prefix}:`);
        redis.disconnect();
      }
    });

    it('a token used for one task on one replica is refused for another on the other', async (ctx) => {
      if (!redis) return ctx.skip();
      const a = new RedisActorUseLedger(redis, prefix);
      const b = new RedisActorUseLedger(redis, prefix);
      expect(await a.claim(use('task-1'))).toBe(true);
      expect(await b.claim(use('task-1'))).toBe(true);
      expect(await b.claim(use('task-2'))).toBe(false);
      const keys = await redis.keys(`${prefix}:actor-use:*`);
      expect(keys).toHaveLength(1);
      expect(keys.join(' ')).not.toContain('j1');
      const ttl = await redis.pttl(keys[0] as string);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    });
  });
});
