import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JWTPayload } from 'jose';
import type { BrokerEvent } from '../../src/events/types.js';
import { jwks, makeKey, signToken, type TestKey } from './identity-support.js';

/**
 * Issuers of every profile, with keys the tests hold, for integration tests on the harness:
 * `configure` adds them, their workloads, and a policy letting those workloads read tickets.
 */
export const K8S_ISS = 'https://oidc.cluster.test.example';
export const GH_ISS = 'https://token.actions.githubusercontent.com';
export const TRUST_DOMAIN = 'prod.test.example';
export const PLAIN_ISS = 'https://idp.attack.test.example';
export const TASK_ISS = 'https://agents.test.example';

export interface ProfileIssuers {
  readonly dir: string;
  readonly k8s: TestKey;
  readonly gha: TestKey;
  readonly spire: TestKey;
  readonly plain: TestKey;
  readonly task: TestKey;
  configure(raw: Record<string, unknown>): void;
  k8sToken(overrides?: Record<string, unknown>): Promise<string>;
  ghToken(overrides?: Record<string, unknown>): Promise<string>;
  svid(overrides?: Record<string, unknown>): Promise<string>;
  plainClaims(overrides?: Record<string, unknown>): JWTPayload;
  taskToken(overrides?: Record<string, unknown>): Promise<string>;
  remove(): void;
}

const now = () => Math.floor(Date.now() / 1000);

function dropUndefined(claims: Record<string, unknown>): JWTPayload {
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return claims as JWTPayload;
}

export async function profileIssuers(): Promise<ProfileIssuers> {
  const dir = mkdtempSync(join(tmpdir(), 'jit-profile-issuers-'));
  const [k8s, gha, spire, plain, task] = await Promise.all([
    makeKey('k8s-1'),
    makeKey('gha-1', 'RS256'),
    makeKey('spire-1'),
    makeKey('plain-1'),
    makeKey('task-1'),
  ]);
  const write = (name: string, document: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(document));
    return path;
  };
  const k8sJwks = write('k8s.json', jwks(k8s));
  const ghJwks = write('gha.json', jwks(gha));
  const plainJwks = write('plain.json', jwks(plain));
  const taskJwks = write('task.json', jwks(task));
  const bundle = write('bundle.json', {
    keys: [{ ...spire.jwk, use: 'jwt-svid' }],
    spiffe_refresh_hint: 300,
  });

  return {
    dir,
    k8s,
    gha,
    spire,
    plain,
    task,
    configure(raw) {
      const issuers = raw.issuers as Record<string, unknown>[];
      issuers.push(
        {
          name: 'k8s',
          profile: 'kubernetes',
          issuer: K8S_ISS,
          audience: 'jit-broker',
          jwks_file: k8sJwks,
        },
        {
          name: 'gha',
          profile: 'github-actions',
          issuer: GH_ISS,
          audience: 'jit-broker',
          jwks_file: ghJwks,
          algorithms: ['RS256'],
        },
        {
          name: 'spire',
          profile: 'spiffe',
          issuer: `spiffe://${TRUST_DOMAIN}`,
          audience: 'jit-broker',
          bundle_file: bundle,
        },
        { name: 'plain', issuer: PLAIN_ISS, audience: 'jit-broker', jwks_file: plainJwks },
        { name: 'agents', issuer: TASK_ISS, audience: 'jit-broker', jwks_file: taskJwks },
      );
      const workloads = raw.workloads as Record<string, unknown>[];
      workloads.push(
        {
          id: 'k8s-agent',
          issuer: 'k8s',
          subject: 'system:serviceaccount:agents:*',
          claims: { 'kubernetes.io/namespace': 'agents' },
          tier: 'write',
        },
        {
          id: 'ci-agent',
          issuer: 'gha',
          subject: '**',
          claims: { repository_id: '123456' },
          tier: 'write',
        },
        {
          id: 'svid-agent',
          issuer: 'spire',
          subject: `spiffe://${TRUST_DOMAIN}/agents/*`,
          tier: 'write',
        },
        { id: 'plain-agent', issuer: 'plain', subject: 'agent-x', tier: 'write' },
      );
      const policies = raw.policies as { workloads: string[] }[];
      policies[0]?.workloads.push('k8s-agent', 'ci-agent', 'svid-agent', 'plain-agent');
    },
    k8sToken: (overrides = {}) =>
      signToken(
        k8s,
        dropUndefined({
          iss: K8S_ISS,
          aud: ['jit-broker'],
          sub: 'system:serviceaccount:agents:triage-bot',
          iat: now(),
          nbf: now(),
          exp: now() + 600,
          'kubernetes.io': {
            namespace: 'agents',
            serviceaccount: { name: 'triage-bot', uid: '1b2c-sa' },
            pod: { name: 'triage-bot-7d9f', uid: '1b2c-pod' },
          },
          ...overrides,
        }),
      ),
    ghToken: (overrides = {}) =>
      signToken(
        gha,
        dropUndefined({
          iss: GH_ISS,
          aud: 'jit-broker',
          sub: 'repo:acme/triage:ref:refs/heads/main',
          jti: `gh-${Math.random()}`,
          iat: now(),
          nbf: now(),
          exp: now() + 300,
          repository: 'acme/triage',
          repository_id: '123456',
          repository_owner: 'acme',
          repository_owner_id: '42',
          run_id: '1001',
          ref: 'refs/heads/main',
          event_name: 'workflow_dispatch',
          workflow_ref: 'acme/triage/.github/workflows/triage.yml@refs/heads/main',
          job_workflow_ref: 'acme/triage/.github/workflows/triage.yml@refs/heads/main',
          ...overrides,
        }),
        { typ: 'JWT' },
      ),
    svid: (overrides = {}) =>
      signToken(
        spire,
        dropUndefined({
          sub: `spiffe://${TRUST_DOMAIN}/agents/triage`,
          aud: ['jit-broker'],
          exp: now() + 300,
          iat: now(),
          ...overrides,
        }),
        { typ: 'JWT' },
      ),
    plainClaims: (overrides = {}) =>
      dropUndefined({
        iss: PLAIN_ISS,
        aud: 'jit-broker',
        sub: 'agent-x',
        iat: now(),
        exp: now() + 300,
        ...overrides,
      }),
    taskToken: (overrides = {}) =>
      signToken(
        task,
        dropUndefined({
          iss: TASK_ISS,
          aud: 'jit-broker',
          sub: 'user:alice@example.com',
          iat: now(),
          exp: now() + 300,
          task_id: 'task-7',
          approved: true,
          ...overrides,
        }),
      ),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Events reach the stdout sink asynchronously; waits until `match` finds one. */
export async function eventMatching(
  read: () => BrokerEvent[],
  match: (event: BrokerEvent) => boolean,
  timeoutMs = 2_000,
): Promise<BrokerEvent | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = read().find(match);
    if (found !== undefined || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
