import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * deploy/docker-compose.yml must work with Compose v1 and v2 file readers, and keep the Redis
 * password off every command line (`ps`, `docker inspect` and shell history show those).
 */
const FILE = join(import.meta.dirname, '../../deploy/docker-compose.yml');
const text = readFileSync(FILE, 'utf8');
const compose = parse(text) as {
  version?: unknown;
  services: Record<string, Record<string, unknown>>;
  secrets?: Record<string, { file?: string }>;
};

const words = (value: unknown): string =>
  Array.isArray(value) ? value.join(' ') : typeof value === 'string' ? value : '';

describe('deploy/docker-compose.yml', () => {
  it('carries the version key Compose v1 needs and no v2-only top-level key', () => {
    expect(compose.version).toBe('3.8');
    for (const key of ['name', 'include']) expect(compose, key).not.toHaveProperty(key);
    for (const service of Object.values(compose.services)) {
      expect(service).not.toHaveProperty('develop');
    }
  });

  it('puts no Redis password on any command line or in any environment', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const argv = `${words(service.entrypoint)} ${words(service.command)}`;
      expect(argv, name).not.toContain('requirepass ${');
      expect(argv, name).not.toContain('--requirepass');
      expect(JSON.stringify(service.environment ?? {}), name).not.toMatch(/REDIS_PASSWORD/);
    }
    expect(text).not.toContain('--requirepass');
  });

  it('hands the password to Redis and the broker as a file secret', () => {
    const secret = compose.secrets?.redis_password;
    expect(secret?.file).toBe('./compose/secrets/redis-password');
    expect(compose.services.redis?.secrets).toContain('redis_password');
    expect(compose.services.broker?.secrets).toContain('redis_password');
    const broker = readFileSync(join(dirname(FILE), 'compose/broker.yaml'), 'utf8');
    expect(broker).toContain(['$', '{file:/run/secrets/redis_password}'].join(''));
    // The secret file is generated per machine and never committed.
    expect(readFileSync(join(dirname(FILE), 'compose/secrets/.gitignore'), 'utf8')).toMatch(
      /^\*$/m,
    );
  });

  it('runs Redis from a mounted config with AOF on', () => {
    const volumes = compose.services.redis?.volumes as string[];
    const mount = volumes.find((v) => v.startsWith('./compose/redis.conf:'));
    expect(mount).toBeDefined();
    const conf = readFileSync(join(dirname(FILE), 'compose/redis.conf'), 'utf8');
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(existsSync(join(dirname(FILE), 'compose/redis.conf'))).toBe(true);
  });
});
