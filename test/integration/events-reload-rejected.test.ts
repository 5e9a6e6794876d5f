import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reloadConfigFile } from '../../src/cli/reload-config.js';
import { createLogger } from '../../src/lib/logger.js';
import { Capture, type Harness, startHarness } from '../helpers/broker-harness.js';

const SECRET = 'bm90LWEtcmVhbC1rZXktYnV0LXNlY3JldC1hbGwtdGhlLXNhbWU=';

describe('SIGHUP with a configuration the broker refuses', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness();
    dir = mkdtempSync(join(tmpdir(), 'jit-reload-'));
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the old configuration and writes policy.reload_rejected to the audit trail', async () => {
    const file = join(dir, 'broker.yaml');
    writeFileSync(
      file,
      `server: { port: "not a port" }\nencryption:\n  keys:\n    - id: k1\n      key: ${SECRET}\n`,
    );
    const before = h.broker.runtime();
    const logs = new Capture();
    reloadConfigFile(h.broker, file, createLogger({ level: 'info', destination: logs }));

    expect(h.broker.runtime()).toBe(before);
    const rejected = (await h.flushedEvents()).filter((e) => e.type === 'policy.reload_rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({
      outcome: 'failure',
      severity: 'medium',
      reason: 'invalid configuration',
      policy_hash: before.policy.hash,
      detail: { file, issues: [expect.stringMatching(/^server\.port: /)] },
    });
    expect(logs.text).toMatch(/reload rejected/);
    expect(h.events.text).not.toContain(SECRET);
    expect(logs.text).not.toContain(SECRET);
  });

  it('says why when the file cannot be read at all', async () => {
    reloadConfigFile(h.broker, join(dir, 'missing.yaml'), createLogger({ level: 'silent' }));
    const rejected = (await h.flushedEvents()).filter((e) => e.type === 'policy.reload_rejected');
    expect(rejected.at(-1)?.detail?.issues).toEqual([expect.stringMatching(/cannot read/)]);
  });
});
