import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../../src/events/types.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { signToken } from '../helpers/identity-support.js';
import { jwtTargetConfig } from '../helpers/jwt-target-config.js';
import {
  eventMatching,
  type ProfileIssuers,
  profileIssuers,
  TASK_ISS,
} from '../helpers/profile-issuers.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';

let h: Harness;
let issuers: ProfileIssuers;

beforeAll(async () => {
  issuers = await profileIssuers();
  const files = await jwtTargetConfig('files', 'https://files.test.example', 'f1');
  h = await startHarness({
    configure(raw) {
      issuers.configure(raw);
      (raw.targets as unknown[]).push(files);
      (raw.policies as unknown[]).push(
        {
          name: 'files-bound',
          workloads: ['svid-agent'],
          target: 'files',
          allow: { scopes: ['files:*'] },
          intents: ['triage'],
          default_ttl: '2m',
          max_ttl: '5m',
          require_actor: {
            issuers: ['agents'],
            bind: { task_id: 'task.id', intent: 'task.intent' },
            user_claim: 'email',
            one_time: true,
          },
        },
        {
          name: 'files-once',
          workloads: ['svid-agent'],
          target: 'files',
          allow: { scopes: ['files:read'] },
          intents: ['review'],
          default_ttl: '2m',
          max_ttl: '5m',
          require_actor: { issuers: ['agents'], one_time: true },
        },
        {
          name: 'no-deletes',
          effect: 'deny',
          workloads: ['agent-*'],
          target: 'tickets',
          intents: ['*'],
          tools: ['delete_*'],
        },
        ...Array.from({ length: 40 }, (_, i) => ({
          name: `bulk-${i}`,
          workloads: ['agent-a'],
          target: 'tickets',
          allow: { scopes: ['tickets:read'] },
          intents: ['bulk-only'],
          default_ttl: '1m',
          max_ttl: '5m',
        })),
        {
          name: 'would-block-dry',
          effect: 'deny',
          mode: 'dry_run',
          workloads: ['agent-a'],
          target: 'tickets',
          intents: ['*'],
          when: 'task.id.startsWith("dry-")',
        },
      );
    },
  });
});

afterAll(async () => {
  await h.close();
  issuers.remove();
});

const post = (fields: Record<string, string>) =>
  h.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });

async function exchange(
  task: { id: string; intent: string },
  actorToken?: string,
  scope = 'files:read',
): Promise<Response> {
  return post({
    grant_type: TOKEN_EXCHANGE,
    subject_token: await issuers.svid(),
    subject_token_type: JWT,
    audience: 'files',
    scope,
    task_id: task.id,
    task_intent: task.intent,
    ...(actorToken === undefined ? {} : { actor_token: actorToken, actor_token_type: JWT }),
  });
}

const actor = (claims: Record<string, unknown> = {}) =>
  issuers.taskToken({ jti: randomUUID(), email: 'alice@example.com', intent: 'triage', ...claims });

async function denied(taskId: string): Promise<BrokerEvent | undefined> {
  return eventMatching(
    () => h.events.events,
    (e) => e.type === 'credential.denied' && e.task?.id === taskId,
  );
}

const reasonCodes = (event: BrokerEvent | undefined) =>
  ((event?.detail?.reasons ?? []) as { code: string; policy?: string }[]).map(
    (r) => `${r.policy}:${r.code}`,
  );

describe('actor tokens that bind the request (/oauth/token)', () => {
  it('valid: a token from a trusted issuer whose claims bind the task is granted, its user recorded', async () => {
    const id = `bind-ok-${randomUUID()}`;
    const res = await exchange({ id, intent: 'triage' }, await actor({ task_id: id }));
    expect(res.status).toBe(200);
    const issued = await eventMatching(
      () => h.events.events,
      (e) => e.type === 'credential.issued' && e.task?.id === id,
    );
    expect(issued?.policy).toBe('files-bound');
    expect(issued?.detail).toEqual({ actor_user: 'alice@example.com' });
  });

  it('missing: no actor token is refused with actor_required', async () => {
    const id = `bind-missing-${randomUUID()}`;
    const res = await exchange({ id, intent: 'triage' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('unauthorized_client');
    expect(reasonCodes(await denied(id))).toContain('files-bound:actor_required');
  });

  it('unbound: a token for another task id is refused with actor_unbound', async () => {
    const id = `bind-other-${randomUUID()}`;
    const res = await exchange({ id, intent: 'triage' }, await actor({ task_id: 'someone-elses' }));
    expect(res.status).toBe(400);
    expect(reasonCodes(await denied(id))).toContain('files-bound:actor_unbound');
  });

  it('forged: a token claiming the trusted issuer but signed by another key is not accepted', async () => {
    const forged = await signToken(issuers.plain, {
      iss: TASK_ISS,
      aud: 'jit-broker',
      sub: 'user:mallory',
      exp: Math.floor(Date.now() / 1000) + 300,
      task_id: 'forged-1',
      intent: 'triage',
      email: 'mallory@example.com',
      jti: randomUUID(),
    });
    const res = await exchange({ id: 'forged-1', intent: 'triage' }, forged);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('reused: a one-time token used for one task is refused for another, and a retry of the same task passes', async () => {
    const token = await actor();
    const first = `once-a-${randomUUID()}`;
    expect((await exchange({ id: first, intent: 'review' }, token)).status).toBe(200);
    expect((await exchange({ id: first, intent: 'review' }, token)).status).toBe(200);
    const second = `once-b-${randomUUID()}`;
    const res = await exchange({ id: second, intent: 'review' }, token);
    expect(res.status).toBe(400);
    expect(reasonCodes(await denied(second))).toEqual(['files-once:actor_token_reused']);
  });
});

describe('deny rules and dry runs over /v1/credentials', () => {
  const credentials = async (task: Record<string, string>) =>
    h.request('/v1/credentials', {
      method: 'POST',
      token: await h.workloadToken('spiffe://test/agent-a'),
      json: { target: 'tickets', scope: { scopes: ['tickets:read'] }, task },
    });

  it('a deny rule refuses what an allow grants, names itself in the problem and the event', async () => {
    const id = `deny-${randomUUID()}`;
    const res = await credentials({ id, intent: 'triage', tool: 'delete_ticket' });
    expect(res.status).toBe(403);
    const problem = (await res.json()) as {
      code: string;
      reasons: { code: string; policy: string }[];
    };
    expect(problem.code).toBe('policy_denied');
    expect(problem.reasons).toEqual([
      expect.objectContaining({ code: 'denied_by_rule', policy: 'no-deletes' }),
    ]);
    expect(reasonCodes(await denied(id))).toEqual(['no-deletes:denied_by_rule']);
    // Leaving the tool out does not escape the rule; a tool it does not name is granted.
    expect((await credentials({ id: `${id}-n`, intent: 'triage' })).status).toBe(403);
    expect(
      (await credentials({ id: `${id}-r`, intent: 'triage', tool: 'read_ticket' })).status,
    ).toBe(201);
  });

  it('a dry-run deny leaves the caller granted and writes policy.dry_run naming the rule', async () => {
    const id = `dry-${randomUUID()}`;
    // `no-deletes` names tools: a request naming none is refused by it, so these name one.
    const res = await credentials({ id, intent: 'triage', tool: 'read_ticket' });
    expect(res.status).toBe(201);
    const event = await eventMatching(
      () => h.events.events,
      (e) => e.type === 'policy.dry_run' && e.task?.id === id,
    );
    expect(event).toMatchObject({
      outcome: 'denied',
      reason: 'would_deny',
      policy: 'would-block-dry',
      detail: { would: 'deny', enforced: 'grant', differs: true },
    });
    // A request the dry-run rule does not match writes no such event.
    const other = `wet-${randomUUID()}`;
    expect((await credentials({ id: other, intent: 'triage', tool: 'read_ticket' })).status).toBe(
      201,
    );
    await h.broker.events.flush();
    expect(h.events.events.some((e) => e.type === 'policy.dry_run' && e.task?.id === other)).toBe(
      false,
    );
  });

  it('a denial explains every considered policy in the problem, and at most 32 in the event', async () => {
    const id = `many-${randomUUID()}`;
    const res = await credentials({ id, intent: 'nobody-grants-this', tool: 'read_ticket' });
    expect(res.status).toBe(403);
    const problem = (await res.json()) as { reasons: { policy: string }[] };
    expect(problem.reasons).toHaveLength(41);
    expect(new Set(problem.reasons.map((r) => r.policy)).size).toBe(41);
    expect(reasonCodes(await denied(id))).toHaveLength(32);
  });
});

describe('secrets stay out of the record', () => {
  it('no actor token appears in events or logs, granted or refused', async () => {
    const granted = await actor({ task_id: 'secret-check' });
    const refused = await actor({ task_id: 'not-this-task' });
    expect((await exchange({ id: 'secret-check', intent: 'triage' }, granted)).status).toBe(200);
    expect((await exchange({ id: 'secret-check-2', intent: 'triage' }, refused)).status).toBe(400);
    await h.broker.events.flush();
    for (const token of [granted, refused]) {
      expect(h.events.text).not.toContain(token);
      expect(h.logs.text).not.toContain(token);
      // Nor its signature alone.
      expect(h.events.text).not.toContain(token.split('.')[2]);
    }
  });
});
