import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { generateDevKey } from '../../providers/jwt/dev-key.js';
import { watchConfigFile } from '../../src/cli/policy-watch.js';
import { createLogger } from '../../src/lib/logger.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { eventMatching } from '../helpers/profile-issuers.js';

const KEY = Buffer.alloc(32, 9).toString('base64');

describe('serve --watch-config: file changes reload atomically, bad files are refused', () => {
  let h: Harness;
  let dir: string;
  let file: string;
  let stop: () => void;
  let pem: string;

  const config = (policies: Record<string, unknown>[]) =>
    stringify({
      targets: [
        {
          name: 'watched',
          provider: 'jwt',
          audience: 'https://watched.test.example',
          keys: [{ kid: 'w1', private_key: pem, state: 'active' }],
        },
      ],
      policies,
      encryption: { keys: [{ id: 'k1', key: KEY }] },
    });
  const policy = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    workloads: ['tier:write'],
    target: 'watched',
    allow: { scopes: ['w:*'] },
    intents: ['triage'],
    default_ttl: '1m',
    max_ttl: '5m',
    ...extra,
  });

  beforeAll(async () => {
    h = await startHarness();
    pem = await generateDevKey();
    dir = mkdtempSync(join(tmpdir(), 'jit-watch-'));
    file = join(dir, 'broker.yaml');
    writeFileSync(file, config([policy('first')]));
    stop = watchConfigFile(h.broker, file, createLogger({ level: 'silent' }), 50);
  });
  afterAll(async () => {
    stop();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a changed file is swapped in whole (policy.reloaded with the new hash)', async () => {
    const before = h.broker.runtime().policy.hash;
    writeFileSync(
      file,
      config([
        policy('first'),
        policy('second', {
          effect: 'deny',
          default_ttl: undefined,
          max_ttl: undefined,
          allow: undefined,
        }),
      ]),
    );
    const reloaded = await eventMatching(
      () => h.events.events,
      (e) => e.type === 'policy.reloaded' && e.policy_hash !== before,
      5_000,
    );
    expect(reloaded).toBeDefined();
    expect(h.broker.runtime().policy.hash).toBe(reloaded?.policy_hash);
    expect(h.broker.runtime().policy.policyNames).toEqual(['first', 'second']);
  });

  it('a file replaced by rename is seen too', async () => {
    const before = h.broker.runtime().policy.hash;
    const next = join(dir, '.broker.yaml.tmp');
    writeFileSync(next, config([policy('renamed')]));
    renameSync(next, file);
    const reloaded = await eventMatching(
      () => h.events.events,
      (e) => e.type === 'policy.reloaded' && e.policy_hash !== before,
      5_000,
    );
    expect(reloaded).toBeDefined();
    expect(h.broker.runtime().policy.policyNames).toEqual(['renamed']);
  });

  it('a bad file keeps the configuration in force and writes every issue to policy.reload_rejected', async () => {
    const before = h.broker.runtime();
    writeFileSync(
      file,
      config([
        policy('bad-target', { target: 'nowhere' }),
        policy('bad-when', { when: 'task.nope == 1' }),
      ]),
    );
    const rejected = await eventMatching(
      () => h.events.events,
      (e) => e.type === 'policy.reload_rejected',
      5_000,
    );
    expect(h.broker.runtime()).toBe(before);
    const issues = (rejected?.detail?.issues ?? []) as string[];
    expect(issues.some((i) => i.startsWith('policies[bad-target].target'))).toBe(true);
    expect(issues.some((i) => i.startsWith('policies[bad-when].when'))).toBe(true);
    expect(rejected?.policy_hash).toBe(before.policy.hash);
  });
});
