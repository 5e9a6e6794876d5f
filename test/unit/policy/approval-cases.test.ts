import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runPolicyCases } from '../../../src/cli/policy-cases.js';

/**
 * `policy test` answers `approval` exactly when issuance would hold the grant: the same rule
 * function, over the granted scope, including a rule keyed on scope (`beyond`).
 */
const EXAMPLES = resolve(import.meta.dirname, '../../../examples');
const dir = mkdtempSync(join(tmpdir(), 'jit-approval-cases-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configWith(approval: unknown): string {
  const doc = parse(readFileSync(join(EXAMPLES, 'dev.yaml'), 'utf8')) as {
    policies: Record<string, unknown>[];
  };
  const policy = doc.policies.find((p) => p.name === 'demo-agent-tickets');
  if (policy === undefined) throw new Error('the dev example lost its tickets policy');
  policy.approval = approval;
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

function casesFile(expectRead: string, expectComment: string): string {
  const base = { workload: 'demo-agent', target: 'tickets-api', policy: 'demo-agent-tickets' };
  const file = join(dir, `cases-${expectRead}-${expectComment}.yaml`);
  writeFileSync(
    file,
    stringify({
      cases: [
        {
          ...base,
          name: 'read inside beyond',
          scope: { scopes: ['tickets:read'] },
          task: { id: 'r', intent: 'triage' },
          expect: expectRead,
        },
        {
          ...base,
          name: 'comment beyond it',
          scope: 'tickets:read tickets:comment',
          task: { id: 'c', intent: 'triage' },
          expect: expectComment,
        },
      ],
    }),
  );
  return file;
}

describe('policy test and approval rules keyed on scope', () => {
  it('a scope inside beyond is allow, one beyond it is approval', () => {
    const config = configWith({ beyond: { scopes: ['tickets:read'] } });
    const results = runPolicyCases(config, casesFile('allow', 'approval'));
    expect(results.map((r) => [r.name, r.got, r.pass])).toEqual([
      ['read inside beyond', 'allow', true],
      ['comment beyond it', 'approval', true],
    ]);
  });

  it('expecting allow for the held one fails the case', () => {
    const config = configWith({ beyond: { scopes: ['tickets:read'] } });
    const results = runPolicyCases(config, casesFile('allow', 'allow'));
    expect(results.map((r) => r.pass)).toEqual([true, false]);
  });

  it('a beyond the provider cannot read is refused as serve refuses it, naming the policy', () => {
    const config = configWith({ beyond: { scopes: 'tickets:read' } });
    expect(() => runPolicyCases(config, casesFile('approval', 'approval'))).toThrow(
      /policies\[demo-agent-tickets\]\.approval\.beyond: not a valid ceiling for target "tickets-api"/,
    );
  });
});
