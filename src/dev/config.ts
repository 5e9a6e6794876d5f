import { randomBytes } from 'node:crypto';
import { devTarget } from '../../providers/dev-target.js';
import { type BrokerConfig, configSchema } from '../config/schema.js';

export const DEV_SUBJECTS = {
  'demo-agent': 'spiffe://dev.local/agent/demo-agent',
  'demo-api': 'spiffe://dev.local/api/tickets',
} as const;

/**
 * The dev configuration: one demo agent, one demo resource server, the dev target (see providers/dev-target.ts) and a
 * policy. Keys are generated per start; nothing here is fit for production.
 */
export async function devConfig(options: {
  issuerUrl: string;
  port: number;
  redisUrl?: string;
}): Promise<BrokerConfig> {
  const issuer = options.issuerUrl;
  return configSchema.parse({
    server: { host: '127.0.0.1', port: options.port },
    redis: { url: options.redisUrl ?? 'redis://127.0.0.1:6379', key_prefix: 'jitdev' },
    issuers: [
      {
        name: 'dev',
        profile: 'oidc',
        issuer,
        audience: 'jit-broker',
        jwks_uri: `${issuer}/jwks.json`,
        algorithms: ['ES256'],
        allow_insecure_loopback: true,
      },
    ],
    workloads: [
      {
        id: 'demo-agent',
        issuer: 'dev',
        subject: DEV_SUBJECTS['demo-agent'],
        tier: 'write',
        max_active_leases: 100,
      },
      { id: 'demo-api', issuer: 'dev', subject: DEV_SUBJECTS['demo-api'], tier: 'read' },
    ],
    targets: [
      await devTarget({
        name: 'tickets-api',
        audience: 'https://tickets.internal.example',
        resourceServers: ['demo-api'],
      }),
    ],
    policies: [
      {
        name: 'demo-agent-tickets',
        workloads: ['demo-agent'],
        target: 'tickets-api',
        allow: { scopes: ['tickets:read', 'tickets:comment'] },
        intents: ['triage', 'code-review'],
        default_ttl: '5m',
        max_ttl: '15m',
      },
    ],
    operators: {
      issuers: [
        {
          name: 'dev-operators',
          issuer,
          audience: 'jit-broker-operators',
          jwks_uri: `${issuer}/jwks.json`,
          algorithms: ['ES256'],
          allow_insecure_loopback: true,
        },
      ],
    },
    events: {
      stdout: { enabled: true },
      redis_stream: { enabled: options.redisUrl !== undefined },
    },
    encryption: { keys: [{ id: 'dev', key: randomBytes(32).toString('base64') }] },
    leases: { reaper: { interval: '1s' } },
  });
}
