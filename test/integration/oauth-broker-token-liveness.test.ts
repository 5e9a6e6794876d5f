import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../helpers/broker-harness.js';
import { sha256 } from '../helpers/identity-support.js';
import {
  AGENT_SUBJECT,
  GITHUB_TARGET,
  MCP_SERVER_SUBJECT,
  type McpStack,
  startMcpStack,
} from '../helpers/mcp-stack.js';
import { redisAvailable, requireService } from '../helpers/services.js';

/*
 * A token the broker signed (here: a caller's access token for the MCP server) presented back
 * to the broker as an identity counts only while its lease is live: as `actor_token` of the
 * MCP server's exchange, and, where a workload maps to the broker's own issuer, as a client
 * assertion, a jwt-bearer assertion, a token exchange's `subject_token` and a bearer token.
 */

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
const CLIENT_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const TICKETS = 'https://tickets.test.example';

describe.each(['memory', 'redis'] as const)(
  'broker-issued tokens stay live only with their lease (%s store)',
  (store) => {
    let stack: McpStack | undefined;
    let run = 0;
    const s = (): McpStack => {
      if (stack === undefined) throw new Error('the stack did not start');
      return stack;
    };

    beforeAll(async () => {
      if (store === 'redis' && !(await requireService('redis', await redisAvailable()))) return;
      stack = await startMcpStack({
        store,
        configure(raw) {
          // A workload whose identity is the broker's own token (its issuer trusts the broker's
          // JWKS): what reaches every other front door with a broker-issued token.
          (raw.workloads as unknown[]).push({
            id: 'relay',
            issuer: 'mcp-callers',
            // A broker token's `sub` is the workload id it was issued to.
            subject: 'agent-a',
            tier: 'read',
          });
          raw.resources = [...(raw.resources as unknown[]), { uri: TICKETS, target: 'tickets' }];
          (raw.policies as unknown[]).push({
            name: 'relay-reads-tickets',
            workloads: ['relay'],
            target: 'tickets',
            allow: { scopes: ['tickets:read'] },
            intents: ['triage'],
            default_ttl: '5m',
            max_ttl: '10m',
          });
        },
      });
    });
    afterAll(async () => {
      await stack?.close();
    });

    const form = (fields: Record<string, string>) =>
      s().h.request('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });

    /** The agent's access token for the MCP server, by client credentials. */
    async function callerToken(subject = AGENT_SUBJECT, taskId = `caller-${++run}`) {
      const res = await form({
        grant_type: 'client_credentials',
        client_assertion_type: CLIENT_ASSERTION,
        client_assertion: await s().h.workloadToken(subject),
        resource: s().resource,
        scope: 'files:read',
        task_id: taskId,
        task_intent: 'mcp',
      });
      expect(res.status).toBe(200);
      const token = ((await res.json()) as { access_token: string }).access_token;
      return { token, leaseId: decodeJwt(token).jti as string, taskId };
    }

    /** The MCP server's downstream exchange, the caller's token as `actor_token`. */
    async function exchange(actorToken: string) {
      return form({
        grant_type: TOKEN_EXCHANGE,
        subject_token: await s().h.workloadToken(MCP_SERVER_SUBJECT),
        subject_token_type: TOKEN_TYPE_JWT,
        actor_token: actorToken,
        actor_token_type: TOKEN_TYPE_JWT,
        resource: GITHUB_TARGET,
        scope: 'repositories=acme/api permissions.contents=read',
        task_id: `read-${++run}`,
        task_intent: 'read-file',
      });
    }

    async function expectRefused(res: Response, error: string, status = 400) {
      expect(res.status).toBe(status);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.error).toBe(error);
      return body;
    }

    /** The `auth.failed` events for this token: reason and hash, never the token. */
    async function failuresFor(token: string) {
      const events = await s().h.flushedEvents();
      expect(JSON.stringify(events)).not.toContain(token);
      return events.filter((e) => e.type === 'auth.failed' && e.token_sha256 === sha256(token));
    }

    async function expectRevokedFailure(token: string, parameter: string) {
      const failures = await failuresFor(token);
      expect(
        failures.map((e) => [e.reason, (e.detail as { parameter?: string }).parameter]),
      ).toEqual([['revoked', parameter]]);
    }

    const operator = () => s().h.operatorToken(['revoker']);

    it('a live caller token is accepted as actor_token and named as the actor', async () => {
      const { token } = await callerToken();
      const res = await exchange(token);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { lease_id: string };
      const lease = await s().h.request(`/v1/leases/${body.lease_id}`, {
        token: await operator(),
      });
      expect(((await lease.json()) as { actor?: string }).actor).toBe('agent-a');
      expect(await failuresFor(token)).toEqual([]);
    });

    it('refused after its lease is revoked (DELETE /v1/leases/{id})', async () => {
      const { token, leaseId } = await callerToken();
      expect((await exchange(token)).status).toBe(200);
      const revoked = await s().h.request(`/v1/leases/${leaseId}`, {
        method: 'DELETE',
        token: await operator(),
      });
      expect(revoked.status).toBeLessThan(300);
      const body = await expectRefused(await exchange(token), 'invalid_grant');
      expect(JSON.stringify(body)).not.toContain(token);
      await expectRevokedFailure(token, 'actor_token');
    });

    it('refused after its client revoked it (POST /oauth/revoke), though the verified principal was cached', async () => {
      const { token } = await callerToken();
      // Twice while live: the second use comes from the verifier's principal cache.
      expect((await exchange(token)).status).toBe(200);
      expect((await exchange(token)).status).toBe(200);
      const revoked = await s().h.request('/oauth/revoke', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token,
          client_assertion_type: CLIENT_ASSERTION,
          client_assertion: await s().h.workloadToken(AGENT_SUBJECT),
        }).toString(),
      });
      expect(revoked.status).toBe(200);
      await expectRefused(await exchange(token), 'invalid_grant');
      await expectRevokedFailure(token, 'actor_token');
    });

    it('refused after its task has ended', async () => {
      const { token, taskId } = await callerToken();
      expect((await exchange(token)).status).toBe(200);
      const ended = await s().h.request(`/v1/tasks/${taskId}/revoke`, {
        method: 'POST',
        token: await s().h.workloadToken(AGENT_SUBJECT),
      });
      expect(ended.status).toBe(200);
      await expectRefused(await exchange(token), 'invalid_grant');
      await expectRevokedFailure(token, 'actor_token');
    });

    it('refused after its lease has expired, even within the issuer’s clock tolerance', async () => {
      const res = await s().h.request('/v1/credentials', {
        method: 'POST',
        token: await s().h.workloadToken(AGENT_SUBJECT),
        json: {
          target: 'mcp-github-server',
          scope: { scopes: ['files:read'] },
          ttl: 1,
          task: { id: `short-${++run}`, intent: 'mcp' },
        },
      });
      expect(res.status).toBe(201);
      const token = ((await res.json()) as { credential: { token: string } }).credential.token;
      const exp = decodeJwt(token).exp as number;
      // Past `exp`, but well within the 30 s the issuer tolerates: only the lease rule refuses it.
      while (Date.now() <= exp * 1000 + 50) await sleep(100);
      await expectRefused(await exchange(token), 'invalid_grant');
      await expectRevokedFailure(token, 'actor_token');
    });

    // Workload tokens held by the relay: a broker token mapped to a workload.
    async function relayToken() {
      const { token, leaseId } = await callerToken();
      expect(decodeJwt(token).sub).toBe('agent-a');
      return { token, leaseId };
    }
    const revoke = async (leaseId: string) =>
      expect(
        (
          await s().h.request(`/v1/leases/${leaseId}`, {
            method: 'DELETE',
            token: await operator(),
          })
        ).status,
      ).toBeLessThan(300);

    it('as a client assertion: accepted while live, invalid_client once revoked', async () => {
      const { token, leaseId } = await relayToken();
      const request = () =>
        form({
          grant_type: 'client_credentials',
          client_assertion_type: CLIENT_ASSERTION,
          client_assertion: token,
          resource: TICKETS,
          scope: 'tickets:read',
          task_id: `relay-${++run}`,
          task_intent: 'triage',
        });
      expect((await request()).status).toBe(200);
      await revoke(leaseId);
      await expectRefused(await request(), 'invalid_client', 401);
      await expectRevokedFailure(token, 'client_assertion');
    });

    it('as a jwt-bearer assertion and as a subject_token: invalid_grant once revoked', async () => {
      const { token, leaseId } = await relayToken();
      const bearerGrant = () =>
        form({
          grant_type: JWT_BEARER,
          assertion: token,
          resource: TICKETS,
          scope: 'tickets:read',
          task_id: `relay-${++run}`,
          task_intent: 'triage',
        });
      const subjectGrant = () =>
        form({
          grant_type: TOKEN_EXCHANGE,
          subject_token: token,
          subject_token_type: TOKEN_TYPE_JWT,
          resource: TICKETS,
          scope: 'tickets:read',
          task_id: `relay-${++run}`,
          task_intent: 'triage',
        });
      expect((await bearerGrant()).status).toBe(200);
      expect((await subjectGrant()).status).toBe(200);
      await revoke(leaseId);
      await expectRefused(await bearerGrant(), 'invalid_grant');
      await expectRefused(await subjectGrant(), 'invalid_grant');
      const failures = await failuresFor(token);
      expect(
        failures.map((e) => [e.reason, (e.detail as { parameter?: string }).parameter]),
      ).toEqual([
        ['revoked', 'assertion'],
        ['revoked', 'subject_token'],
      ]);
    });

    it('as a bearer token on /v1: 401 once revoked', async () => {
      const { token, leaseId } = await relayToken();
      const request = () =>
        s().h.request('/v1/credentials', {
          method: 'POST',
          token,
          json: {
            target: 'tickets',
            scope: { scopes: ['tickets:read'] },
            task: { id: `relay-${++run}`, intent: 'triage' },
          },
        });
      expect((await request()).status).toBe(201);
      await revoke(leaseId);
      const refused = await request();
      expect(refused.status).toBe(401);
      expect(await refused.text()).not.toContain(token);
      const failures = await failuresFor(token);
      expect(failures.map((e) => e.reason)).toEqual(['revoked']);
    });

    // Last: the kill switch blocks the workload for the rest of the suite.
    it('refused after the kill switch of its workload', async () => {
      const { token } = await callerToken('spiffe://test/agent-b');
      expect((await exchange(token)).status).toBe(200);
      const killed = await s().h.request('/v1/workloads/agent-b/revoke', {
        method: 'POST',
        token: await operator(),
        json: { reason: 'liveness test' },
      });
      expect(killed.status).toBe(200);
      await expectRefused(await exchange(token), 'invalid_grant');
      await expectRevokedFailure(token, 'actor_token');
    });
  },
);
