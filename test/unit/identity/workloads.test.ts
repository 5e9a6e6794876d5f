import { describe, expect, it } from 'vitest';
import { type WorkloadConfig, workloadSchema } from '../../../src/config/schema.js';
import type { VerifiedIdentity } from '../../../src/identity/types.js';
import { WorkloadMapping } from '../../../src/identity/workloads.js';

function workload(fields: Record<string, unknown>): WorkloadConfig {
  return workloadSchema.parse({ issuer: 'k8s-prod', tier: 'read', ...fields });
}

function identity(subject: string, claims: Record<string, unknown> = {}, issuer = 'k8s-prod') {
  return {
    issuer,
    iss: 'https://k8s.example',
    subject,
    claims: { sub: subject, ...claims },
    tokenHash: 'h',
    expiresAt: 0,
  } satisfies VerifiedIdentity;
}

describe('WorkloadMapping', () => {
  it('maps an exact subject', () => {
    const mapping = new WorkloadMapping([
      workload({ id: 'github-mcp', subject: 'system:serviceaccount:mcp:github-mcp' }),
    ]);
    expect(mapping.match(identity('system:serviceaccount:mcp:github-mcp'))?.id).toBe('github-mcp');
    expect(mapping.match(identity('system:serviceaccount:mcp:github-mcp2'))).toBeUndefined();
  });

  it('requires the configured issuer name', () => {
    const mapping = new WorkloadMapping([workload({ id: 'w', subject: 'alice' })]);
    expect(mapping.match(identity('alice', {}, 'other-idp'))).toBeUndefined();
  });

  it('maps a glob subject within one segment', () => {
    const mapping = new WorkloadMapping([
      workload({ id: 'mcp-any', subject: 'system:serviceaccount:mcp:*' }),
    ]);
    expect(mapping.match(identity('system:serviceaccount:mcp:anything'))?.id).toBe('mcp-any');
    expect(mapping.match(identity('system:serviceaccount:mcp:a:b'))).toBeUndefined();
    expect(mapping.match(identity('system:serviceaccount:other:a'))).toBeUndefined();
  });

  it('does not treat regex metacharacters in an exact subject as patterns', () => {
    const mapping = new WorkloadMapping([workload({ id: 'w', subject: 'svc.a' })]);
    expect(mapping.match(identity('svcxa'))).toBeUndefined();
  });

  it('requires every claim matcher, by equality or any-of', () => {
    const mapping = new WorkloadMapping([
      workload({
        id: 'deploy',
        subject: 'repo:acme/**',
        claims: { ref: 'refs/heads/main', environment: ['prod', 'staging'] },
      }),
    ]);
    const sub = 'repo:acme/app:ref:refs/heads/main';
    expect(mapping.match(identity(sub, { ref: 'refs/heads/main', environment: 'prod' }))?.id).toBe(
      'deploy',
    );
    expect(
      mapping.match(identity(sub, { ref: 'refs/heads/main', environment: 'staging' }))?.id,
    ).toBe('deploy');
    expect(mapping.match(identity(sub, { ref: 'refs/heads/dev', environment: 'prod' }))).toBe(
      undefined,
    );
    expect(mapping.match(identity(sub, { ref: 'refs/heads/main', environment: 'dev' }))).toBe(
      undefined,
    );
    expect(mapping.match(identity(sub, { ref: 'refs/heads/main' }))).toBeUndefined();
  });

  it('compares numbers by their string form and never matches other claim types', () => {
    const mapping = new WorkloadMapping([
      workload({ id: 'w', subject: 's', claims: { run: '42' } }),
    ]);
    expect(mapping.match(identity('s', { run: 42 }))?.id).toBe('w');
    expect(mapping.match(identity('s', { run: ['42'] }))).toBeUndefined();
    expect(mapping.match(identity('s', { run: { toString: '42' } }))).toBeUndefined();
    const bools = new WorkloadMapping([
      workload({ id: 'b', subject: 's', claims: { admin: 'true' } }),
    ]);
    expect(bools.match(identity('s', { admin: true }))).toBeUndefined();
  });

  it('ignores inherited properties', () => {
    const mapping = new WorkloadMapping([
      workload({
        id: 'w',
        subject: 's',
        claims: { constructor: 'function Object() { [native code] }' },
      }),
    ]);
    expect(mapping.match(identity('s'))).toBeUndefined();
  });

  it('takes the first match in config order', () => {
    const mapping = new WorkloadMapping([
      workload({ id: 'narrow', subject: 'system:serviceaccount:mcp:github-mcp' }),
      workload({ id: 'broad', subject: 'system:serviceaccount:mcp:*' }),
    ]);
    expect(mapping.match(identity('system:serviceaccount:mcp:github-mcp'))?.id).toBe('narrow');
    expect(mapping.match(identity('system:serviceaccount:mcp:other'))?.id).toBe('broad');
  });
});
