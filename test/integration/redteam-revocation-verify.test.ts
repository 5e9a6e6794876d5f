import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GithubTargetConfig } from '../../providers/github/config.js';
import { verifyInstallationTokenGone } from '../../providers/github/verify.js';
import { AdminPools } from '../../providers/postgres/lib/pools.js';
import type { PostgresTarget } from '../../providers/postgres/lib/target.js';
import { verifyLoginRoleGone } from '../../providers/postgres/verify.js';
import { ProviderError } from '../../providers/provider.js';
import { type GitHubFake, startGitHubFake } from '../fakes/github.js';
import { type PgCluster, startPgCluster } from '../helpers/pg-cluster.js';

/*
 * Attacks on the revocation checks: each one is a credential that still works, and the check
 * must never answer "gone" for it (a thrown check is reported unverified by the verifier).
 */

/*
 * The PostgreSQL attack leaves a session of a dropped role open on purpose, which makes every
 * revocation check on that server unverified while it lasts: it runs on a private cluster, so
 * no other test's check (nor its clean-up) ever meets it.
 */
const cluster = await startPgCluster();
const run = randomBytes(3).toString('hex');

describe.skipIf(cluster === null)('postgres revocation check against a live session', () => {
  const c = cluster as PgCluster;
  let su: pg.Client;
  let pools: AdminPools;
  let target: PostgresTarget;
  const role = `jitrv${run}_login`;
  const password = `pw-${randomBytes(8).toString('hex')}`;

  beforeAll(async () => {
    su = new pg.Client(c.url());
    await su.connect();
    pools = new AdminPools(c.url());
    target = {
      config: { name: 'pg-redteam' } as PostgresTarget['config'],
      pools,
      secrets: [password],
    };
  });

  afterAll(async () => {
    await su?.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE usename = $1 OR (usesysid IS NOT NULL AND usename IS NULL)`,
      [role],
    );
    await su?.query(`DROP ROLE IF EXISTS ${role}`);
    await su?.end();
    await pools?.close();
    await c.stop();
  });

  it('a dropped role whose session still answers is not gone, and the evidence says why', async () => {
    await su.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    // The URL's own user would win over a separate `user` option: set it in the URL.
    const session = new pg.Client({ connectionString: c.url(undefined, role, password) });
    await session.connect();
    try {
      expect((await verifyLoginRoleGone(target, role)).gone).toBe(false);
      await su.query(`DROP ROLE ${role}`);
      // The session outlives its role and still runs queries.
      expect((await session.query('SELECT 1 AS n')).rows[0]).toEqual({ n: 1 });
      const proof = await verifyLoginRoleGone(target, role);
      expect(proof.gone).toBe(false);
      expect(proof.evidence).toMatch(
        /0 in pg_roles, 0 session\(s\) in pg_stat_activity, [1-9]\d* session\(s\) of dropped roles/,
      );
      expect(proof.evidence).not.toContain(password);
    } finally {
      await session.end().catch(() => {});
    }
    // Once the session has ended, the same check proves the role gone.
    let proof = await verifyLoginRoleGone(target, role);
    for (let i = 0; i < 50 && !proof.gone; i++) {
      await new Promise((r) => setTimeout(r, 20));
      proof = await verifyLoginRoleGone(target, role);
    }
    expect(proof).toMatchObject({ gone: true });
  });
});

describe('github revocation check against answers that are not "gone"', () => {
  let github: GitHubFake;
  let config: GithubTargetConfig;
  const token = `ghs_${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    github = await startGitHubFake({ owner: 'acme', repositories: ['api'] });
    config = {
      name: 'github-redteam',
      base_url: github.url,
      timeout_ms: 200,
    } as GithubTargetConfig;
  });
  afterAll(async () => {
    await github?.close();
  });

  for (const status of [500, 502, 503, 429, 403, 404]) {
    it(`${status} is no proof: the check throws, never answers gone`, async () => {
      github.failNext({ method: 'GET', path: '/installation/repositories' }, { status });
      const outcome = await verifyInstallationTokenGone(config, { token }).then(
        (proof) => proof,
        (err: unknown) => err,
      );
      expect(outcome).toBeInstanceOf(ProviderError);
      expect(String((outcome as Error).message)).not.toContain(token);
    });
  }

  it('a check that times out throws, never answers gone', async () => {
    github.setLatency(1_000);
    try {
      await expect(verifyInstallationTokenGone(config, { token })).rejects.toBeInstanceOf(
        ProviderError,
      );
    } finally {
      github.setLatency(0);
    }
  });

  it('401 is the one answer that proves the token gone', async () => {
    await expect(verifyInstallationTokenGone(config, { token })).resolves.toMatchObject({
      gone: true,
    });
  });
});
