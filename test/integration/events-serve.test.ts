import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { BrokerEvent } from '../../src/events/types.js';
import { sleep } from '../helpers/broker-harness.js';
import { freePort } from '../helpers/free-port.js';
import { runOperatorCli } from '../helpers/operator-cli.js';
import { serveScratch } from '../helpers/serve-scratch.js';
import { REDIS_URL } from '../helpers/services.js';

const ROOT = resolve(import.meta.dirname, '../..');

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * `serve` as an operator runs it, with no audit keys configured: what it says about that,
 * what a refused SIGHUP leaves in the audit trail, and how the chain ends on SIGTERM.
 */
describe('serve without audit keys, SIGHUP and SIGTERM', () => {
  const scratch = serveScratch('serve');

  it('warns once that the chain is self-certified, records a refused reload, ends with the shutdown checkpoint', async (ctx) => {
    if (!scratch.ok) ctx.skip();
    const { dir, prefix } = scratch;
    const file = join(dir, 'broker.yaml');
    writeFileSync(
      file,
      stringify({
        server: { host: '127.0.0.1', port: await freePort() },
        redis: { url: REDIS_URL, key_prefix: prefix },
        events: { stdout: { enabled: true }, redis_stream: { enabled: false } },
        encryption: { keys: [{ id: 'k', key: Buffer.alloc(32, 5).toString('base64') }] },
      }),
    );
    let stdout = '';
    let stderr = '';
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'serve', '--config', file],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LOG_LEVEL: 'info' },
      },
    );
    scratch.child = child;
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await until('the broker to serve', () => stderr.includes('jit-broker serving'));
    // The warning is its own log line, written after the one that says the broker serves.
    await until('the self-certified warning', () => stderr.includes('no audit signing keys'));
    expect(stderr.match(/no audit signing keys/g)).toHaveLength(1);
    expect(stderr).toMatch(/only self-certified/);

    writeFileSync(file, 'server: { port: "not a port" }\n');
    child.kill('SIGHUP');
    await until('policy.reload_rejected', () => stdout.includes('"policy.reload_rejected"'));

    const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Still once: the warning is not repeated by the reload.
    // The warning is its own log line, written after the one that says the broker serves.
    await until('the self-certified warning', () => stderr.includes('no audit signing keys'));
    expect(stderr.match(/no audit signing keys/g)).toHaveLength(1);

    const events = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as BrokerEvent);
    expect(events[0]?.detail).toMatchObject({ key_source: 'ephemeral' });
    expect(events.find((e) => e.type === 'policy.reload_rejected')).toMatchObject({
      outcome: 'failure',
      detail: { issues: expect.arrayContaining([expect.stringMatching(/^server\.port: /)]) },
    });
    expect(events.at(-1)?.detail).toMatchObject({ final: true });

    const out = await runOperatorCli(['events', 'verify', '--trust-embedded-key'], {
      env: {},
      read: async () => stdout,
    });
    expect(out.join('\n')).toMatch(/ok: every event signed .* ends with the shutdown checkpoint/);
    expect(out.join('\n')).toMatch(/key_source "ephemeral"/);
  });
});
