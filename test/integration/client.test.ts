import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JitBrokerClient, JitBrokerError, type JwtCredential } from '../../src/client/index.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';

/** The JitBrokerClient against a real broker over a real socket (memory lease store). */
describe('JitBrokerClient against the broker', () => {
  let h: Harness;
  let agent: JitBrokerClient;
  let ticketsApi: JitBrokerClient;
  let otherAgent: JitBrokerClient;

  beforeAll(async () => {
    h = await startHarness({ listen: true });
    const as = (subject: string) =>
      new JitBrokerClient({ url: h.broker.url, token: () => h.workloadToken(subject) });
    agent = as('spiffe://test/agent-a');
    otherAgent = as('spiffe://test/agent-b');
    ticketsApi = as('spiffe://test/tickets-api');
  });
  afterAll(async () => {
    await h?.close();
  });

  const request = (taskId: string, scopes = ['tickets:read'], intent = 'triage') => ({
    target: 'tickets',
    scope: { scopes },
    ttl: 120,
    task: { id: taskId, intent, tool: 'list_tickets' },
  });

  it('issues a credential the resource server sees as active, until withCredential revokes it', async () => {
    let token = '';
    let leaseId = '';
    const result = await agent.withCredential(
      request('int-1'),
      async (credential: JwtCredential, lease) => {
        token = credential.token;
        leaseId = lease.leaseId;
        expect(lease.expiresAt.getTime()).toBeGreaterThan(Date.now());
        expect(lease.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 121_000);
        const seen = await ticketsApi.introspect(credential.token);
        expect(seen.active).toBe(true);
        expect(seen.scope).toBe('tickets:read');
        expect((await agent.getLease(lease.leaseId)).state).toBe('active');
        return 'listed';
      },
    );
    expect(result).toBe('listed');
    expect(token).not.toBe('');
    expect((await ticketsApi.introspect(token)).active).toBe(false);
    expect((await agent.getLease(leaseId)).state).toBe('revoked');
  });

  it('withCredential revokes when the tool fails', async () => {
    let token = '';
    await expect(
      agent.withCredential(request('int-2'), async (credential: JwtCredential) => {
        token = credential.token;
        expect((await ticketsApi.introspect(token)).active).toBe(true);
        throw new Error('tool failed');
      }),
    ).rejects.toThrow('tool failed');
    expect((await ticketsApi.introspect(token)).active).toBe(false);
  });

  it('getCredential then revoke', async () => {
    const lease = await agent.getCredential<JwtCredential>(request('int-3'));
    expect(lease.credential.token_type).toBe('Bearer');
    expect((await ticketsApi.introspect(lease.credential.token)).active).toBe(true);
    const revocation = await agent.revoke(lease.leaseId);
    expect(revocation).toMatchObject({ leaseId: lease.leaseId, state: 'revoked', pending: false });
    expect((await ticketsApi.introspect(lease.credential.token)).active).toBe(false);
  });

  it('a request outside policy is a 403 JitBrokerError with a stable code', async () => {
    const wrongIntent = await agent
      .getCredential(request('int-4', ['tickets:read'], 'deploy'))
      .catch((e: unknown) => e);
    expect(wrongIntent).toBeInstanceOf(JitBrokerError);
    expect(wrongIntent).toMatchObject({ status: 403, code: 'intent_not_allowed' });
    expect((wrongIntent as JitBrokerError).requestId).toMatch(/^req_/);

    const tooWide = await agent
      .getCredential(request('int-4', ['tickets:admin']))
      .catch((e: unknown) => e);
    expect(tooWide).toBeInstanceOf(JitBrokerError);
    expect(tooWide).toMatchObject({ status: 403, code: 'scope_exceeds_ceiling' });
  });

  it('a workload token the broker does not accept is a 401', async () => {
    const stranger = new JitBrokerClient({
      url: h.broker.url,
      token: () => h.workloadToken('spiffe://test/agent-a', {}, { audience: 'someone-else' }),
    });
    await expect(stranger.getCredential(request('int-5'))).rejects.toMatchObject({
      status: 401,
    });
  });

  it('another workload cannot see or revoke the lease', async () => {
    const lease = await agent.getCredential<JwtCredential>(request('int-6'));
    await expect(otherAgent.getLease(lease.leaseId)).rejects.toMatchObject({ status: 404 });
    await expect(otherAgent.revoke(lease.leaseId)).rejects.toMatchObject({ status: 404 });
    expect((await ticketsApi.introspect(lease.credential.token)).active).toBe(true);
    await agent.revoke(lease.leaseId);
  });

  it('endTask revokes every lease of the task, and only that task', async () => {
    const taskId = 'repo/issue#7';
    const first = await agent.getCredential<JwtCredential>(request(taskId));
    const second = await agent.getCredential<JwtCredential>(request(taskId, ['tickets:comment']));
    const other = await agent.getCredential<JwtCredential>(request('int-7-other'));

    const result = await agent.endTask(taskId);
    expect(result).toMatchObject({ task: taskId, workload: 'agent-a', revoked: 2, failed: 0 });
    expect((await ticketsApi.introspect(first.credential.token)).active).toBe(false);
    expect((await ticketsApi.introspect(second.credential.token)).active).toBe(false);
    expect((await ticketsApi.introspect(other.credential.token)).active).toBe(true);
    await agent.revoke(other.leaseId);
  });

  it('the credential and workload token never reach the broker’s logs through the client', async () => {
    const lease = await agent.getCredential<JwtCredential>(request('int-8'));
    await agent.revoke(lease.leaseId);
    expect(h.logs.text).not.toContain(lease.credential.token);
    expect(h.events.text).not.toContain(lease.credential.token);
  });
});
