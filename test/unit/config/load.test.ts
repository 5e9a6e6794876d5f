import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateDevKey } from '../../../providers/jwt/dev-key.js';
import { loadConfigFile, parseConfig } from '../../../src/config/load.js';
import { buildRuntime } from '../../../src/runtime.js';
import { configIssues } from '../../helpers/config-issues.js';

const dir = mkdtempSync(join(tmpdir(), 'jit-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [] }));
const KEY = Buffer.alloc(32, 1).toString('base64');

const issues = configIssues;

describe('configuration loading', () => {
  it('resolves ${env:} and ${file:} references; secrets have no defaults', () => {
    writeFileSync(join(dir, 'enc.key'), `${KEY}\n`);
    const config = parseConfig(
      'encryption:\n  keys:\n    - { id: a, key: "${file:enc.key}" }\n    - { id: b, key: "${env:JIT_TEST_KEY}" }\n',
      { env: { JIT_TEST_KEY: KEY }, baseDir: dir },
    );
    expect(config.encryption.keys.map((k) => k.key)).toEqual([KEY, KEY]);
    expect(
      issues(() =>
        parseConfig('encryption:\n  keys: [{ id: a, key: "${env:NOPE_UNSET}" }]\n', { env: {} }),
      ),
    ).toEqual(['encryption.keys[a].key: environment variable NOPE_UNSET is not set']);
    expect(
      issues(() =>
        parseConfig('encryption:\n  keys: [{ id: a, key: "${file:missing.pem}" }]\n', {
          env: {},
          baseDir: dir,
        }),
      ),
    ).toEqual(['encryption.keys[a].key: cannot read file missing.pem (ENOENT)']);
  });

  it('names the path of every bad field', () => {
    const found = issues(() =>
      parseConfig(
        `encryption: { keys: [{ id: a, key: "${KEY}" }] }\npolicies:\n  - { name: p, workloads: [w], target: t, allow: {}, intents: [x], default_ttl: 20m, max_ttl: 5m }\nserver: { port: 99999, extra: 1 }\n`,
      ),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^policies\[p\]: default_ttl exceeds max_ttl/),
        expect.stringMatching(/^server\.port: /),
        expect.stringMatching(/^server: .*extra/),
      ]),
    );
  });

  it('rejects malformed YAML and a missing file clearly', () => {
    expect(issues(() => parseConfig('server: [unclosed'))[0]).toMatch(/^YAML: /);
    expect(issues(() => loadConfigFile(join(dir, 'nope.yaml')))[0]).toMatch(
      /cannot read .*nope\.yaml \(ENOENT\)/,
    );
  });

  it('checks references between sections when building the runtime', async () => {
    const config = parseConfig(
      [
        `encryption: { keys: [{ id: a, key: "${KEY}" }] }`,
        'issuers:',
        `  - { name: idp, issuer: https://idp.example, audience: jit-broker, jwks_file: ${join(dir, 'jwks.json')} }`,
        'workloads:',
        '  - { id: w1, issuer: nobody, subject: s, tier: read }',
        'targets:',
        `  - { name: api, provider: jwt, audience: https://api, keys: [{ kid: k, private_key: ${JSON.stringify(await generateDevKey())}, state: active }] }`,
        '  - { name: x, provider: vault }',
        'policies:',
        '  - { name: p, workloads: [ghost], target: api, allow: { scopes: [read] }, intents: [i], default_ttl: 1m, max_ttl: 5m }',
        'operators:',
        `  issuers: [{ name: ops, issuer: https://idp.example, audience: jit-broker, jwks_file: ${join(dir, 'jwks.json')} }]`,
      ].join('\n'),
    );
    const found = issues(() =>
      buildRuntime(config, { providerContext: { brokerUrl: 'https://b' } }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        'workloads[w1].issuer: no issuer named nobody',
        expect.stringMatching(/^targets\[x\].provider: unknown provider vault/),
        'policies[p].workloads[0]: no workload named ghost',
        'operators.issuers[ops].audience: must differ from the workload audience of the same issuer',
      ]),
    );
  });

  it('refuses provider modules unless loading them was allowed', () => {
    const config = parseConfig(
      `encryption: { keys: [{ id: a, key: "${KEY}" }] }\ntargets: [{ name: m, provider: module, module: ./x.js }]\n`,
    );
    expect(
      issues(() => buildRuntime(config, { providerContext: { brokerUrl: 'https://b' } }))[0],
    ).toMatch(/--allow-provider-modules/);
  });
});
