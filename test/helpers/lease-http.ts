import { expect } from 'vitest';
import { type Harness, sleep } from './broker-harness.js';

/** What `POST /v1/credentials` answers with on 201. */
export interface IssuedLease<C> {
  lease_id: string;
  expires_at: string;
  credential: C;
}

export interface Problem {
  status: number;
  code: string;
}

/** Requests a credential that must be granted; every credential passes through `secrets`. */
export async function issueCredential<C extends { password: string }>(
  h: Harness,
  token: string,
  body: object,
  secrets: string[],
): Promise<IssuedLease<C>> {
  const res = await h.request('/v1/credentials', { method: 'POST', token, json: body });
  const payload = (await res.json()) as IssuedLease<C> & { code?: string; detail?: string };
  expect(res.status, `credential refused: ${payload.code} ${payload.detail ?? ''}`).toBe(201);
  secrets.push(payload.credential.password);
  return payload;
}

/** `POST /v1/credentials` for `tickets:read` under `task`: the answer as it comes (201, 202, 4xx). */
export function requestTicketsRead(
  h: Harness,
  token: string,
  task: { id: string; intent: string },
): Promise<Response> {
  return h.request('/v1/credentials', {
    method: 'POST',
    token,
    json: { target: 'tickets', scope: { scopes: ['tickets:read'] }, task },
  });
}

/** Requests a credential that must be refused, answering the status and problem code. */
export async function refusedCredential(h: Harness, token: string, body: object): Promise<Problem> {
  const res = await h.request('/v1/credentials', { method: 'POST', token, json: body });
  const problem = (await res.json()) as { code: string; credential?: unknown };
  expect(problem.credential).toBeUndefined();
  return { status: res.status, code: problem.code };
}

/** `DELETE /v1/leases/{id}` by the owner; the provider-side revocation must be finished. */
export async function revokeLease(h: Harness, token: string, leaseId: string): Promise<void> {
  const res = await h.request(`/v1/leases/${leaseId}`, { method: 'DELETE', token });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ lease_id: leaseId, state: 'revoked' });
}

/** The kill switch, as an operator with the `revoker` role. */
export async function revokeWorkload(
  h: Harness,
  workload: string,
): Promise<{ revoked: number; revoking: number; failed: number; blocked: boolean }> {
  const res = await h.request(`/v1/workloads/${workload}/revoke`, {
    method: 'POST',
    token: await h.operatorToken(['revoker']),
    json: { reason: 'db credential incident drill', block: false },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    revoked: number;
    revoking: number;
    failed: number;
    blocked: boolean;
  };
}

export async function leaseState(h: Harness, token: string, leaseId: string): Promise<string> {
  const res = await h.request(`/v1/leases/${leaseId}`, { token });
  expect(res.status).toBe(200);
  return ((await res.json()) as { state: string }).state;
}

/** Ids of a workload's active leases, as an operator sees them. */
export async function activeLeases(h: Harness, workload: string): Promise<string[]> {
  const res = await h.request(`/v1/leases?workload=${workload}&state=active&limit=500`, {
    token: await h.operatorToken(['viewer']),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { leases: { lease_id: string }[] }).leases.map((l) => l.lease_id);
}

/** Polls `check` every 100 ms until it holds or `timeoutMs` passed; answers its last result. */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs = 5_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}

/** Passwords (and other secrets) must appear in no event and no log line of the broker. */
export function expectNoSecretOutput(h: Harness, secrets: readonly string[]): void {
  const everything = h.events.text + h.logs.text;
  for (const secret of secrets) {
    expect(secret.length).toBeGreaterThanOrEqual(16);
    expect(everything.includes(secret), 'a secret reached the events or logs').toBe(false);
  }
}
