import { randomBytes } from 'node:crypto';
import { generateDevKey } from '../../providers/jwt/dev-key.js';
import { type BrokerConfig, configSchema } from '../../src/config/schema.js';
import { REDIS_URL } from './redis.js';

export const JWT_TARGET = 'tickets';

export interface BenchConfigOptions {
  prefix: string;
  /** Defaults to the machine's Redis (REDIS_URL). */
  redisUrl?: string;
  /** `revoke_concurrency` of the jwt target (the schema's default is 64). */
  revokeConcurrency?: number;
  /** Extra `leases` settings (reaper interval and batch, kill-switch deadline…). */
  leases?: Record<string, unknown>;
}

/**
 * The raw (YAML-shaped) configuration of a benchmark broker: one jwt target, the production
 * event sinks (stdout best-effort, Redis stream required), everything else at its defaults.
 * Raw so it can travel to a child process and be parsed there.
 */
export async function benchRawConfig(
  options: BenchConfigOptions,
): Promise<Record<string, unknown>> {
  return {
    server: { host: '127.0.0.1', port: 0, public_url: 'https://broker.bench.example' },
    redis: { url: options.redisUrl ?? REDIS_URL, key_prefix: options.prefix },
    targets: [
      {
        name: JWT_TARGET,
        provider: 'jwt',
        audience: 'https://tickets.bench.example',
        keys: [{ kid: 'k1', private_key: await generateDevKey(), state: 'active' }],
        ...(options.revokeConcurrency === undefined
          ? {}
          : { revoke_concurrency: options.revokeConcurrency }),
      },
    ],
    events: {
      stdout: { enabled: true },
      redis_stream: { enabled: true, stream: 'events' },
    },
    encryption: { keys: [{ id: 'k1', key: randomBytes(32).toString('base64') }] },
    ...(options.leases === undefined ? {} : { leases: options.leases }),
  };
}

export function parseConfig(raw: Record<string, unknown>): BrokerConfig {
  return configSchema.parse(raw);
}

export async function benchConfig(options: BenchConfigOptions): Promise<BrokerConfig> {
  return parseConfig(await benchRawConfig(options));
}
