import { generateKeyPairSync } from 'node:crypto';
import { jwtProviderFactory } from '../../providers/jwt/index.js';
import type { Provider } from '../../providers/provider.js';
import { type PolicyConfig, policySchema } from '../../src/config/schema.js';

/** One P-256 signing key for every jwt target a policy test builds: no test reads it back. */
const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

/** A jwt target for the policy engine to decide against (and mint from, where a test does). */
export function jwtTarget(name: string, audience = `https://${name}.test`): Provider {
  return jwtProviderFactory.create(
    {
      name,
      provider: 'jwt',
      audience,
      keys: [{ kid: 'k1', private_key: PEM, state: 'active' }],
    },
    { brokerUrl: 'https://broker.test' },
  );
}

/** An allow policy `files` granting files-mcp any `files:` scope on files-api for any intent. */
export function filesPolicy(overrides: Record<string, unknown> = {}): PolicyConfig {
  return policySchema.parse({
    name: 'files',
    workloads: ['files-mcp'],
    target: 'files-api',
    allow: { scopes: ['files:*'] },
    intents: ['*'],
    default_ttl: '5m',
    max_ttl: '15m',
    ...overrides,
  });
}
