import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDevKey } from '../../../providers/jwt/dev-key.js';
import { ConfigError, parseConfig } from '../../../src/config/load.js';
import { validateConfigFile } from '../../../src/config/validate.js';
import { buildRuntime } from '../../../src/runtime.js';

const KEY = Buffer.alloc(32, 1).toString('base64');
const RSA = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

describe('config validate: policy rules', () => {
  it('reports a duplicate policy name with its field path (the engine owns the rule)', async () => {
    const policy = (name: string) =>
      `  - { name: ${name}, workloads: ["tier:read"], target: api, allow: { scopes: [read] }, intents: [i], default_ttl: 1m, max_ttl: 5m }`;
    const config = parseConfig(
      [
        `encryption: { keys: [{ id: a, key: "${KEY}" }] }`,
        'targets:',
        `  - { name: api, provider: jwt, audience: https://api, keys: [{ kid: k, private_key: ${JSON.stringify(await generateDevKey())}, state: active }] }`,
        'policies:',
        policy('p'),
        policy('q'),
        policy('p'),
      ].join('\n'),
    );
    let issues: readonly string[] = [];
    try {
      buildRuntime(config, { providerContext: { brokerUrl: 'https://b' } });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issues = err.issues;
    }
    expect(issues).toEqual(['policies[2].name: duplicate policy name "p"']);
  });
});

describe('config validate: every policy problem in one run, named by policy', () => {
  it('lists an unknown target, an unknown scope field, a bad CEL, a TTL over the provider maximum, tools on a target that never sees them, an approval on a deny rule and an unknown actor issuer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-policy-validate-'));
    try {
      const file = join(dir, 'broker.yaml');
      const github = (name: string) =>
        `  - { name: ${name}, provider: github, app_id: 1, installation_id: 2, private_key: ${JSON.stringify(RSA)} }`;
      const allow = (name: string, rest: string) =>
        `  - { name: ${name}, workloads: ["tier:write"], intents: [i], default_ttl: 1m, max_ttl: 5m, ${rest} }`;
      writeFileSync(
        file,
        [
          `encryption: { keys: [{ id: a, key: "${randomBytes(32).toString('base64')}" }] }`,
          'targets:',
          `  - { name: api, provider: jwt, audience: https://api, keys: [{ kid: k, private_key: ${JSON.stringify(await generateDevKey())}, state: active }] }`,
          github('repos'),
          'policies:',
          allow('no-target', 'target: nowhere, allow: { scopes: [a] }'),
          allow('extra-field', 'target: api, allow: { scopes: [a], bogus: 1 }'),
          allow('bad-cel', 'target: api, allow: { scopes: [a] }, when: "task.nope == 1"'),
          allow('bad-cel-syntax', 'target: api, allow: { scopes: [a] }, when: "task.id =="'),
          `  - { name: too-long, workloads: ["tier:write"], intents: [i], default_ttl: 1m, max_ttl: 2h, target: repos, allow: { repositories: [o/r], permissions: { contents: read } } }`,
          `  - { name: tools-blind, workloads: ["tier:write"], intents: [i], default_ttl: 1m, max_ttl: 5m, target: repos, tools: [read_*], allow: { repositories: [o/r], permissions: { contents: read } } }`,
          allow(
            'who-acts',
            'target: api, allow: { scopes: [a] }, require_actor: { issuers: [ghost] }',
          ),
          allow('who-acts', 'target: api, allow: { scopes: [a] }'),
          allow(
            'bad-beyond',
            'target: api, allow: { scopes: [a] }, approval: { beyond: { scopes: a } }',
          ),
          allow(
            'good-beyond',
            'target: api, allow: { scopes: [a, b] }, approval: { beyond: { scopes: [a] } }',
          ),
        ].join('\n'),
      );
      const { issues } = validateConfigFile(file, { env: {} });
      const has = (prefix: string) => issues.some((i) => i.startsWith(prefix));
      expect(has('policies[no-target].target: unknown target')).toBe(true);
      expect(has('policies[extra-field].allow: not a valid ceiling')).toBe(true);
      expect(has('policies[bad-cel].when:')).toBe(true);
      expect(has('policies[bad-cel-syntax].when:')).toBe(true);
      expect(has('policies[too-long].max_ttl:')).toBe(true);
      expect(has('policies[tools-blind].tools:')).toBe(true);
      // An approval's `beyond` is read by the target provider's ceiling schema, named by policy.
      expect(has('policies[bad-beyond].approval.beyond: not a valid ceiling')).toBe(true);
      expect(issues.some((i) => i.startsWith('policies[good-beyond]'))).toBe(false);
      // An approval on a deny rule is a schema error: its own run, as the schema stops the rest.
      writeFileSync(
        file,
        [
          `encryption: { keys: [{ id: a, key: "${randomBytes(32).toString('base64')}" }] }`,
          'policies:',
          '  - { name: deny-approval, effect: deny, workloads: ["tier:write"], intents: ["*"], target: api, approval: required }',
        ].join('\n'),
      );
      const schema = validateConfigFile(file, { env: {} }).issues;
      expect(schema.some((i) => i.startsWith('policies[deny-approval].approval:'))).toBe(true);
      expect(
        issues.some((i) => /^policies\[\d+\]\.name: duplicate policy name "who-acts"/.test(i)),
      ).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
