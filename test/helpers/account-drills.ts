import { expect } from 'vitest';
import { type Harness, startHarness } from './broker-harness.js';
import {
  activeLeases,
  eventually,
  expectNoSecretOutput,
  type IssuedLease,
  issueCredential,
  leaseState,
  revokeLease,
  revokeWorkload,
} from './lease-http.js';

/*
 * Scenarios every provider that makes one server-side account per lease (a MariaDB login, a
 * PostgreSQL role, a Redis ACL user) must pass over the HTTP API: revocation, expiry and the
 * kill switch each end open sessions, refuse new logins and remove the account.
 */

/** A broker with one target and a policy for `agent-a` and `agent-b`, and their tokens. */
export interface TargetBroker {
  h: Harness;
  agentA: string;
  agentB: string;
}

export async function startTargetBroker(options: {
  store: 'memory' | 'redis';
  target: object;
  policy: object;
}): Promise<TargetBroker> {
  const h = await startHarness({
    store: options.store,
    listen: true,
    configure(raw) {
      (raw.targets as unknown[]).push(options.target);
      (raw.policies as unknown[]).push(options.policy);
    },
  });
  return {
    h,
    agentA: await h.workloadToken('spiffe://test/agent-a'),
    agentB: await h.workloadToken('spiffe://test/agent-b'),
  };
}

/** How a suite reaches the accounts its target makes. */
export interface AccountProbe<C extends { username: string; password: string }, S> {
  /** Opens a session with the credential. */
  login(credential: C): Promise<S>;
  /** Whether an open session still answers. */
  alive(session: S): Promise<boolean>;
  close(session: S): Promise<void>;
  exists(username: string): Promise<boolean>;
  /** The error a fresh login fails with, or `null` when it succeeds. */
  loginFailure(credential: C): Promise<string | null>;
  /** What `loginFailure` answers once the account is gone. */
  refused: RegExp;
}

/** Asserts the session ends: at once when `withinMs` is 0, else within `withinMs`. */
async function expectEnded<S>(
  probe: AccountProbe<{ username: string; password: string }, S>,
  session: S,
  withinMs: number,
): Promise<void> {
  if (withinMs === 0) expect(await probe.alive(session)).toBe(false);
  else expect(await eventually(async () => !(await probe.alive(session)), withinMs)).toBe(true);
}

/** `DELETE /v1/leases/{id}` ends the open session, refuses new logins and removes the account. */
export async function expectRevokeEndsAccess<C extends { username: string; password: string }, S>(
  broker: TargetBroker,
  secrets: string[],
  probe: AccountProbe<C, S>,
  request: object,
  options: { sessionEndsWithinMs: number },
): Promise<IssuedLease<C>> {
  const { h, agentA } = broker;
  const issued = await issueCredential<C>(h, agentA, request, secrets);
  const session = await probe.login(issued.credential);
  expect(await probe.alive(session)).toBe(true);

  await revokeLease(h, agentA, issued.lease_id);

  await expectEnded(probe, session, options.sessionEndsWithinMs);
  expect(await probe.loginFailure(issued.credential)).toMatch(probe.refused);
  expect(await probe.exists(issued.credential.username)).toBe(false);
  return issued;
}

/** The reaper removes the account of an expired lease and ends its open session. */
export async function expectReaperEndsAccess<C extends { username: string; password: string }, S>(
  broker: TargetBroker,
  secrets: string[],
  probe: AccountProbe<C, S>,
  request: object,
  options: { removedWithinMs: number; sessionEndsWithinMs: number },
): Promise<IssuedLease<C>> {
  const { h, agentA } = broker;
  const issued = await issueCredential<C>(h, agentA, request, secrets);
  const { credential } = issued;
  const session = await probe.login(credential);
  expect(await probe.alive(session)).toBe(true);

  expect(
    await eventually(
      async () => !(await probe.exists(credential.username)),
      options.removedWithinMs,
    ),
  ).toBe(true);
  await expectEnded(probe, session, options.sessionEndsWithinMs);
  expect(await probe.loginFailure(credential)).toMatch(probe.refused);
  expect(await leaseState(h, agentA, issued.lease_id)).toBe('expired');
  return issued;
}

/**
 * The kill switch revokes both of agent-a's leases (`requests[0]()` and `requests[1]()`) in
 * one call, and leaves agent-b's (`requests[0]()`) alone.
 */
export async function expectKillSwitchSparesBystander<
  C extends { username: string; password: string },
  S,
>(
  broker: TargetBroker,
  secrets: string[],
  probe: AccountProbe<C, S>,
  requests: readonly [() => object, () => object],
  options: { sessionEndsWithinMs: number },
): Promise<void> {
  const { h, agentA, agentB } = broker;
  const [firstRequest, secondRequest] = requests;
  const first = await issueCredential<C>(h, agentA, firstRequest(), secrets);
  const second = await issueCredential<C>(h, agentA, secondRequest(), secrets);
  const other = await issueCredential<C>(h, agentB, firstRequest(), secrets);
  const open = [await probe.login(first.credential), await probe.login(second.credential)];
  const bystander = await probe.login(other.credential);
  const live = await activeLeases(h, 'agent-a');
  expect(live).toEqual(expect.arrayContaining([first.lease_id, second.lease_id]));

  const counts = await revokeWorkload(h, 'agent-a');
  expect(counts).toMatchObject({ failed: 0, blocked: false });
  expect(counts.revoked + counts.revoking).toBe(live.length);

  for (const { credential } of [first, second]) {
    expect(await eventually(async () => !(await probe.exists(credential.username)))).toBe(true);
    expect(await probe.loginFailure(credential)).toMatch(probe.refused);
  }
  for (const session of open) await expectEnded(probe, session, options.sessionEndsWithinMs);
  expect(await probe.alive(bystander)).toBe(true);
  expect(await probe.exists(other.credential.username)).toBe(true);
  await probe.close(bystander);
  await revokeLease(h, agentB, other.lease_id);
}

/**
 * After a suite: no active lease, no account under the prefix, and none of the `secrets`
 * (more than `minSecrets`, so the check had something to find) in events or broker logs.
 */
export async function expectNothingLeft(
  broker: TargetBroker,
  secrets: readonly string[],
  prefixedAccounts: () => Promise<number>,
  minSecrets: number,
): Promise<void> {
  const { h } = broker;
  expect(await activeLeases(h, 'agent-a')).toEqual([]);
  expect(await activeLeases(h, 'agent-b')).toEqual([]);
  expect(await prefixedAccounts()).toBe(0);
  expect(secrets.length).toBeGreaterThan(minSecrets);
  expectNoSecretOutput(h, secrets);
}
