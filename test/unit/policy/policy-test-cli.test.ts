import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { registerPolicyCommands } from '../../../src/cli/policy.js';
import { runPolicyCases } from '../../../src/cli/policy-cases.js';

const EXAMPLES = resolve(import.meta.dirname, '../../../examples');
const CONFIG = join(EXAMPLES, 'production.yaml');
const CASES = join(EXAMPLES, 'policy-cases.yaml');
const dir = mkdtempSync(join(tmpdir(), 'jit-policy-cases-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ out: string[]; exitCode: number }> {
  const out: string[] = [];
  const program = new Command('jit-broker').exitOverride();
  registerPolicyCommands(program, {
    env: {},
    fetch,
    out: (line) => out.push(line),
    read: async () => '',
  });
  try {
    await program.parseAsync(['node', 'jit-broker', 'policy', ...args]);
    return { out, exitCode: 0 };
  } catch (err) {
    return { out, exitCode: (err as { exitCode?: number }).exitCode ?? -1 };
  }
}

/** The shipped cases with one case's expectation changed, written next to the examples' copy. */
function flipped(change: (c: Record<string, unknown>) => void, index: number): string {
  const doc = parse(readFileSync(CASES, 'utf8')) as { cases: Record<string, unknown>[] };
  const target = doc.cases[index];
  if (target === undefined) throw new Error('no such case');
  change(target);
  // `config:` paths are relative to the cases file: point them back at the examples.
  for (const c of doc.cases) if (typeof c.config === 'string') c.config = join(EXAMPLES, c.config);
  const file = join(dir, `flipped-${index}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

describe('jit-broker policy test', () => {
  it('the shipped cases all pass against the example configurations (exit 0)', async () => {
    const results = runPolicyCases(CONFIG, CASES);
    expect(results.length).toBeGreaterThanOrEqual(15);
    expect(results.filter((r) => !r.pass)).toEqual([]);
    // Both example configurations are covered, and every outcome kind the set can give.
    expect(results.some((r) => r.policy === 'demo-agent-tickets')).toBe(true);
    expect(new Set(results.map((r) => r.got))).toEqual(new Set(['allow', 'deny']));
    const { out, exitCode } = await run(['test', CONFIG, CASES]);
    expect(exitCode).toBe(0);
    expect(out.at(-1)).toBe(`${results.length} passed, 0 failed`);
  });

  it('a case flipped by hand (allow → deny) fails and exits 1, naming it', async () => {
    const file = flipped((c) => {
      c.expect = 'deny';
    }, 0);
    const { out, exitCode } = await run(['test', CONFIG, file]);
    expect(exitCode).toBe(1);
    const failing = out.filter((line) => line.startsWith('FAIL'));
    expect(failing).toHaveLength(1);
    expect(failing[0]).toContain('tickets agent triages with read and comment');
  });

  it('a deny expected with the wrong reason code fails', async () => {
    const file = flipped((c) => {
      c.code = 'condition_false';
    }, 2);
    expect((await run(['test', CONFIG, file])).exitCode).toBe(1);
  });

  it('an allow expected from another policy fails', async () => {
    const file = flipped((c) => {
      c.policy = 'tickets-mcp-resolve';
    }, 0);
    expect((await run(['test', CONFIG, file])).exitCode).toBe(1);
  });

  it('an unreadable or invalid cases file, or a bad configuration, exits 2', async () => {
    expect((await run(['test', CONFIG, join(dir, 'missing.yaml')])).exitCode).toBe(2);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, stringify({ cases: [{ name: 'x', expect: 'maybe' }] }));
    expect((await run(['test', CONFIG, bad])).exitCode).toBe(2);
    const badConfig = join(dir, 'config.yaml');
    const config = parse(readFileSync(CONFIG, 'utf8')) as { policies: Record<string, unknown>[] };
    (config.policies[0] as Record<string, unknown>).when = 'task.nope == 1';
    writeFileSync(badConfig, stringify(config));
    expect((await run(['test', badConfig, CASES])).exitCode).toBe(2);
  });
});
