import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../../src/config/json-schema.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'jit-validate-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const run = spawnSync('npx', ['tsx', join(ROOT, 'src/main.ts'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, JIT_BROKER_CONFIG: '' },
  });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

describe('jit-broker config', () => {
  it('validate exits 1 naming each bad field, and 0 once fixed', () => {
    const text = readFileSync(join(ROOT, 'examples/production.yaml'), 'utf8');
    const file = join(dir, 'broker.yaml');
    writeFileSync(file, text.replace('max_ttl: 15m', 'max_tll: 15m'));
    const failed = cli('config', 'validate', '--offline-secrets', file);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain(
      'policies[tickets-mcp-triage]: unknown key "max_tll" (did you mean "max_ttl"?)',
    );
    expect(failed.err).toContain('server.tls.cert: file /etc/jit-broker/tls/tls.crt');

    writeFileSync(file, text);
    const passed = cli('config', 'validate', '--offline-secrets', file);
    expect(passed.err).toContain('not checked (--offline-secrets)');
    expect(passed.out).toMatch(/^ok: 3 issuers, 4 workloads, 3 targets, 4 policies/);
    expect(passed.code).toBe(0);
  }, 60_000);

  it('config.schema.json is generated from the schema (run `jit-broker config schema > config.schema.json`)', () => {
    const committed: unknown = JSON.parse(readFileSync(join(ROOT, 'config.schema.json'), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });

  it('the examples point editors at the schema', () => {
    for (const example of ['examples/production.yaml', 'examples/dev.yaml']) {
      expect(readFileSync(join(ROOT, example), 'utf8')).toMatch(
        /^# yaml-language-server: \$schema=\.\.\/config\.schema\.json$/m,
      );
    }
  });
});
