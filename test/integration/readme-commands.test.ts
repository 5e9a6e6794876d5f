import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { sleep } from '../helpers/broker-harness.js';
import { freePort } from '../helpers/free-port.js';
import { serveScratch } from '../helpers/serve-scratch.js';
import { REDIS_URL } from '../helpers/services.js';

/**
 * The README's production commands, run as written (the `jit-broker` command is the checkout's
 * entry under tsx; `test/integration/package.test.ts` runs the same commands from the
 * installed package). A command the README shows that this test does not know fails it, so
 * the README cannot drift from what the broker does.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const MAIN = join(ROOT, 'src/main.ts');

/** The `sh` block under the README's "Production:" paragraph, one command per line. */
function productionCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('Production: install the package');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start));
  if (start === -1 || !block?.[1]) throw new Error('the README has no production block');
  return block[1]
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '');
}

describe("the README's production commands", () => {
  const scratch = serveScratch('readme');

  it('each runs and does what the README says', async (ctx) => {
    if (!scratch.ok) ctx.skip();
    const { dir, prefix } = scratch;
    const config = join(dir, 'broker.yaml');
    const port = await freePort();
    writeFileSync(
      config,
      stringify({
        server: { host: '127.0.0.1', port },
        redis: { url: REDIS_URL, key_prefix: prefix },
        issuers: [],
        workloads: [],
        targets: [],
        policies: [],
        events: { stdout: { enabled: false }, redis_stream: { enabled: true, stream: 'events' } },
        encryption: { keys: [{ id: 'k1', key: randomBytes(32).toString('base64') }] },
      }),
    );
    const cli = (args: string[]) =>
      spawnSync(TSX, [MAIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });

    const known: string[] = [];
    for (const command of productionCommands()) {
      const words = command.split(/\s+/);
      if (command.startsWith('npm ci && npm pack') || command.startsWith('npm install -g')) {
        // Building and installing the tarball: package.test.ts does both.
        known.push(command);
        continue;
      }
      expect(words[0], command).toBe('jit-broker');
      const args = words.slice(1).map((w) => (w.endsWith('.yaml') ? config : w));
      if (args[0] === 'serve') {
        const child = spawn(TSX, [MAIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
        scratch.child = child;
        let healthy = false;
        for (let i = 0; i < 200 && !healthy; i++) {
          await sleep(100);
          healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then(
            (r) => r.ok,
            () => false,
          );
        }
        expect(healthy, command).toBe(true);
        child.kill('SIGTERM');
        known.push(command);
        continue;
      }
      if (args[0] === 'config' && args[1] === 'validate') {
        const run = cli(args);
        expect(run.status, `${command}\n${run.stderr}`).toBe(0);
        expect(run.stdout).toMatch(/^ok/);
        known.push(command);
        continue;
      }
      if (args[0] === 'operators' && args[1] === 'token') {
        const run = cli(args);
        expect(run.status, `${command}\n${run.stderr}`).toBe(0);
        // The token alone on stdout (for a pipe); the config entry with its hash on stderr.
        expect(run.stdout).toMatch(/^jbg_[A-Za-z0-9_-]{43}\n$/);
        expect(run.stderr).toMatch(/hash: sha256:[0-9a-f]{64}/);
        expect(run.stderr).toContain('role: revoker');
        known.push(command);
      }
    }
    expect(known).toEqual(productionCommands());
  }, 120_000);
});
