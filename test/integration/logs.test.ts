import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type Harness, sleep, startHarness } from '../helpers/broker-harness.js';
import { freePort } from '../helpers/free-port.js';
import { serveScratch } from '../helpers/serve-scratch.js';
import { REDIS_URL } from '../helpers/services.js';
import { addSlowTarget } from '../helpers/slow-target.js';

const ROOT = resolve(import.meta.dirname, '../..');

interface LogLine {
  level: number;
  msg: string;
  request_id?: string;
  [field: string]: unknown;
}

describe('log lines of a request carry its id', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      allowProviderModules: true,
      configure: (raw) => {
        addSlowTarget(raw, ['agent-a']);
      },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  const lines = (): LogLine[] =>
    h.logs.text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);

  it('a line the revoker writes while a request is served names that request', async () => {
    const agent = await h.workloadToken('spiffe://test/agent-a');
    const issued = await h.request('/v1/credentials', {
      method: 'POST',
      token: agent,
      json: { target: 'slow', scope: { name: 'x' }, task: { id: 'log-1', intent: 'triage' } },
    });
    expect(issued.status).toBe(201);
    const { lease_id } = (await issued.json()) as { lease_id: string };
    // Without its target the provider cannot revoke: the revoker logs the retry.
    const original = h.config;
    h.broker.reload({
      ...original,
      targets: original.targets.filter((t) => t.name !== 'slow'),
      policies: original.policies.filter((p) => p.target !== 'slow'),
    });
    try {
      const before = lines().length;
      const res = await h.request(`/v1/leases/${lease_id}`, { method: 'DELETE', token: agent });
      const requestId = res.headers.get('x-request-id');
      expect(requestId).toMatch(/^req_/);
      const written = lines().slice(before);
      const retry = written.filter((l) => l.msg === 'revocation failed; will retry');
      expect(retry).toHaveLength(1);
      expect(written.length).toBeGreaterThan(0);
      for (const line of written) expect(line.request_id, line.msg).toBe(requestId);
    } finally {
      h.broker.reload(original);
    }
  });
});

describe('serve --log-format pretty', () => {
  const scratch = serveScratch('logfmt');

  it('writes readable lines, secret-free, when JIT_LOG_FORMAT=pretty', async (ctx) => {
    if (!scratch.ok) ctx.skip();
    const key = Buffer.alloc(32, 0x5a).toString('base64');
    const file = join(scratch.dir, 'broker.yaml');
    writeFileSync(
      file,
      stringify({
        server: { host: '127.0.0.1', port: await freePort() },
        redis: { url: REDIS_URL, key_prefix: scratch.prefix },
        events: { stdout: { enabled: false }, redis_stream: { enabled: false } },
        encryption: { keys: [{ id: 'k', key }] },
      }),
    );
    let stderr = '';
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', '-c', file], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'info', JIT_LOG_FORMAT: 'pretty' },
    });
    scratch.child = child;
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    for (let i = 0; i < 600 && !stderr.includes('jit-broker serving'); i += 1) await sleep(50);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    const serving = stderr.split('\n').find((l) => l.includes('jit-broker serving'));
    expect(serving).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}jit-broker serving url=http:\/\/127\.0\.0\.1:\d+$/,
    );
    const warn = stderr.split('\n').find((l) => l.includes('no audit signing keys'));
    expect(warn).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}no audit signing keys/);
    expect(stderr).not.toMatch(/^\{"level"/m);
    expect(stderr).not.toContain(key);
  });

  it('refuses a format it does not know, naming the choices', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'serve', '--log-format', 'xml', '-c', 'none.yaml'],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(stderr).toMatch(/--log-format.*xml.*json, pretty/s);
  });
});
