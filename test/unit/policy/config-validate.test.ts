import { describe, expect, it } from 'vitest';
import { generateDevKey } from '../../../providers/jwt/dev-key.js';
import { ConfigError, parseConfig } from '../../../src/config/load.js';
import { buildRuntime } from '../../../src/runtime.js';

const KEY = Buffer.alloc(32, 1).toString('base64');

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
