import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { freePort } from '../helpers/free-port.js';
import { makeCa, makeServerCert } from '../helpers/syslog-receiver.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI as a real process (async: the broker under test answers from this process). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

describe('operator CLI over the network, as a process', () => {
  let h: Harness;
  let dir: string;
  let caFile: string;
  let url: string;
  let admin: string;
  const tls = (...args: string[]) => ['--url', url, '--ca-file', caFile, ...args];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cli-connect-'));
    const ca = makeCa('jit-broker test CA');
    const server = makeServerCert(ca, 'localhost');
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, ca.cert);
    writeFileSync(join(dir, 'cert.pem'), server.cert);
    writeFileSync(join(dir, 'key.pem'), server.key);
    h = await startHarness({
      listen: true,
      store: 'redis',
      configure: (raw) => {
        (raw.server as Record<string, unknown>).tls = {
          cert: join(dir, 'cert.pem'),
          key: join(dir, 'key.pem'),
        };
      },
    });
    url = h.broker.url;
    admin = await h.operatorToken(['admin']);
  });
  afterAll(async () => {
    await h.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  async function issue(task: string): Promise<string> {
    const agent = await h.workloadToken('spiffe://test/agent-a');
    const res = await h.broker.app.request('/v1/credentials', {
      method: 'POST',
      headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        target: 'tickets',
        scope: { scopes: ['tickets:read'] },
        task: { id: task, intent: 'triage' },
      }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { lease_id: string }).lease_id;
  }

  it('says the certificate is from an unknown authority, then works with --ca-file', async () => {
    expect(url).toMatch(/^https:/);
    const unknown = await cli(['status', '--url', url], { JIT_BROKER_TOKEN: admin });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /^jit-broker: TLS to 127\.0\.0\.1:\d+: certificate signed by unknown authority/,
    );
    expect(unknown.stderr).not.toContain(admin);

    const trusted = await cli(tls('status'), { JIT_BROKER_TOKEN: admin });
    expect(trusted.stderr).toBe('');
    expect(trusted.code).toBe(0);
    expect(trusted.stdout).toMatch(/reachable:\s+yes/);
    expect(trusted.stdout).toMatch(/readiness:\s+ready/);
    expect(trusted.stdout).toMatch(/lease_store:\s+ok/);
    expect(trusted.stdout).toMatch(/token:\s+jwt, claims UNVERIFIED/);
    expect(trusted.stdout).toMatch(/sub:\s+alice@example\.com/);
    expect(trusted.stdout).toMatch(/server version:\s+\(not reported by the broker\)/);

    // The same from the environment.
    const fromEnv = await cli(['status'], {
      JIT_BROKER_URL: url,
      JIT_BROKER_CA_FILE: caFile,
      JIT_BROKER_TOKEN: admin,
      JIT_BROKER_OUTPUT: 'json',
    });
    expect(fromEnv.code).toBe(0);
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({
      reachable: true,
      server_version: null,
      freeze: { frozen: false },
      readiness: { status: 'ready' },
      token: { kind: 'jwt', unverified_claims: { sub: 'alice@example.com' } },
    });
  });

  it('--insecure-skip-verify works, and says loudly what it gives up', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${admin}\n`);
    const run = await cli([
      'status',
      '--url',
      url,
      '--token-file',
      tokenFile,
      '--insecure-skip-verify',
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(
      /WARNING: --insecure-skip-verify: the certificate of 127\.0\.0\.1:\d+ is NOT checked/,
    );
    const fromEnv = await cli(['status', '--url', url], {
      JIT_BROKER_TOKEN_FILE: tokenFile,
      JIT_BROKER_INSECURE_SKIP_VERIFY: '1',
    });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stderr).toMatch(/WARNING/);
    // "0" turns nothing off.
    const off = await cli(['status', '--url', url], {
      JIT_BROKER_TOKEN_FILE: tokenFile,
      JIT_BROKER_INSECURE_SKIP_VERIFY: '0',
    });
    expect(off.stderr).toMatch(/certificate signed by unknown authority/);
  });

  it('names a refused host:port, plain http to the TLS port, and an unknown path', async () => {
    const port = await freePort();
    const refused = await cli([
      'leases',
      'list',
      '--url',
      `http://127.0.0.1:${port}`,
      '--token',
      'x',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `jit-broker: connection refused to 127.0.0.1:${port}: is the broker running, and is that its port?\n`,
    );

    const plain = await cli(['status', '--url', url.replace('https:', 'http:')], {
      JIT_BROKER_TOKEN: admin,
    });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/plain http sent to an https port\? \(try https:\/\/\)/);

    // A path in --url is kept: the broker is asked at /broker/healthz, and has no such route.
    const pathed = await cli(tls('status', '--url', `${url}/broker`), { JIT_BROKER_TOKEN: admin });
    expect(pathed.code).toBe(1);
    expect(pathed.stderr).toMatch(new RegExp(`HTTP 404 (from ${url}/broker/healthz|not_found)`));
  });

  it('status says who froze issuance, when and why', async () => {
    const frozen = await cli(tls('freeze', '--reason', 'incident 42'), { JIT_BROKER_TOKEN: admin });
    expect(frozen.code).toBe(0);
    try {
      const run = await cli(tls('status'), { JIT_BROKER_TOKEN: admin });
      expect(run.stdout).toMatch(/frozen:\s+YES since \S+ by alice@example\.com: incident 42/);
    } finally {
      expect((await cli(tls('unfreeze'), { JIT_BROKER_TOKEN: admin })).code).toBe(0);
    }
    const after = await cli(tls('status'), { JIT_BROKER_TOKEN: admin });
    expect(after.stdout).toMatch(/frozen:\s+no/);
  });

  it('prints the code, the detail and every field error of a 422', async () => {
    const run = await cli(tls('freeze', '--reason', 'x'.repeat(300)), { JIT_BROKER_TOKEN: admin });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^jit-broker: HTTP 422 invalid_request: .+ \[reason: .+\] \(request \S+\)\n$/,
    );
  });

  it('exits 3 when the broker refuses the token (401) or the role (403)', async () => {
    const bad = await cli(tls('leases', 'list'), { JIT_BROKER_TOKEN: 'not-a-token' });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/HTTP 401 (invalid_token|unauthenticated)/);
    const viewer = await h.operatorToken(['viewer']);
    const low = await cli(tls('freeze', '--reason', 'no'), { JIT_BROKER_TOKEN: viewer });
    expect(low.code).toBe(3);
    expect(low.stderr).toMatch(/HTTP 403 forbidden/);
    expect(low.stderr).not.toContain(viewer);
  });

  it('refuses to send a token over plain http to anything but loopback, before sending', async () => {
    const address = Object.values(networkInterfaces())
      .flat()
      .find((a) => a?.family === 'IPv4' && !a.internal)?.address;
    let requests = 0;
    let server: Server | undefined;
    let target = 'http://192.0.2.1:8080';
    if (address !== undefined) {
      server = createServer((_req, res) => {
        requests += 1;
        res.end('{}');
      });
      await new Promise<void>((resolve) => server?.listen(0, address, resolve));
      const port = (server.address() as { port: number }).port;
      target = `http://${address}:${port}`;
    }
    const run = await cli(['leases', 'list', '--url', target], { JIT_BROKER_TOKEN: admin });
    server?.close();
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/refusing to send a token over plain http to .+: use https:\/\//);
    expect(requests).toBe(0);
  });

  it('--version prints the package version; usage errors exit 2', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const run = await cli(['--version']);
    expect(run).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const usage = await cli(['leases', 'list', '--state', 'bogus']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--state <state>' argument 'bogus' is invalid/);
    const help = await cli(['--help']);
    expect(help.stdout).toMatch(
      /3 {2}denied: the broker refused the token \(401\) or its role \(403\)/,
    );
  });

  it('leases get in table, json and yaml; task end', async () => {
    const lease = await issue('cli-connect-1');
    const asTable = await cli(tls('leases', 'get', lease), { JIT_BROKER_TOKEN: admin });
    expect(asTable.code).toBe(0);
    expect(asTable.stdout).toMatch(/^LEASE\s+WORKLOAD\s+TARGET\s+STATE/);
    expect(asTable.stdout).toMatch(new RegExp(`${lease}\\s+agent-a\\s+tickets\\s+active`));
    const asJson = await cli(tls('leases', 'get', lease, '-o', 'json'), {
      JIT_BROKER_TOKEN: admin,
    });
    expect(JSON.parse(asJson.stdout)).toMatchObject({ lease_id: lease, state: 'active' });
    const asYaml = await cli(tls('--output', 'yaml', 'leases', 'get', lease), {
      JIT_BROKER_TOKEN: admin,
    });
    expect(asYaml.stdout).toContain(`lease_id: ${lease}\n`);
    expect(asYaml.stdout).toMatch(/^state: active$/m);

    const ended = await cli(
      tls('task', 'end', 'cli-connect-1', '--workload', 'agent-a', '-o', 'json'),
      {
        JIT_BROKER_TOKEN: admin,
      },
    );
    expect(ended.code).toBe(0);
    expect(JSON.parse(ended.stdout)).toMatchObject({
      task: 'cli-connect-1',
      workload: 'agent-a',
      revoked: 1,
    });
    const after = await cli(tls('leases', 'get', lease, '-o', 'json'), { JIT_BROKER_TOKEN: admin });
    expect(JSON.parse(after.stdout)).toMatchObject({ state: 'revoked' });
  });

  it('leases renew sends the TTL (renewal is the issuing identity\u2019s: a workload token)', async () => {
    const lease = await issue('cli-connect-renew');
    const agent = await h.workloadToken('spiffe://test/agent-a');
    const run = await cli(tls('leases', 'renew', lease, '--ttl', '120', '-o', 'json'), {
      JIT_BROKER_TOKEN: agent,
    });
    // The jwt provider reissues, or a policy refuses: either way the broker's answer is shown.
    if (run.code === 0) expect(JSON.parse(run.stdout)).toMatchObject({ lease_id: lease });
    else expect(run.stderr).toMatch(/^jit-broker: HTTP \d{3} \w+/);
    const bad = await cli(tls('leases', 'renew', lease, '--ttl', 'soon'), {
      JIT_BROKER_TOKEN: agent,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--ttl: not a number of seconds/);
  });

  it('events tail prints an event as it happens and stops when the broker ends the feed', async () => {
    const shortLived = await h.operatorToken(['viewer'], 'tail@example.com', '12s');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/main.ts',
        ...tls('events', 'tail', '--workload', 'agent-a', '-o', 'json'),
      ],
      { env: { PATH: process.env.PATH ?? '', JIT_BROKER_TOKEN: shortLived } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // Issue only once the feed is open: the feed shows what happens from then on.
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('following events')) resolve();
      }),
    );
    const lease = await issue('cli-connect-tail');
    const run = { code: await exited, stdout, stderr };
    const events = run.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { type: string; lease_id?: string; workload?: string });
    expect(events.some((e) => e.type === 'credential.issued' && e.lease_id === lease)).toBe(true);
    expect(events.every((e) => e.workload === 'agent-a')).toBe(true);
    expect(run.stderr).toMatch(/the broker ended the feed: token_expired/);
  });

  it('completion scripts for bash and zsh hold the commands and their options', async () => {
    const bash = await cli(['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -o default -F _jit_broker jit-broker');
    expect(bash.stdout).toMatch(/"events"\) echo "verify keys tail export /);
    expect(bash.stdout).toMatch(/"leases list"\) echo ".*--state/);
    expect(bash.stdout).toMatch(/--output\) echo "table json yaml"/);
    const zsh = await cli(['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^#compdef jit-broker/);
    expect(zsh.stdout).toContain('"task end") print -r -- "--workload');
    // The bash script parses, and completes a subcommand.
    const check = await new Promise<string>((resolve) =>
      execFile(
        'bash',
        [
          '-c',
          `${bash.stdout}\nCOMP_WORDS=(jit-broker leases g); COMP_CWORD=2; _jit_broker; echo "\${COMPREPLY[@]}"`,
        ],
        (_e, out, err) => resolve(out + err),
      ),
    );
    expect(check.trim()).toBe('get');
    const bad = await cli(['completion', 'fish']);
    expect(bad.code).toBe(2);
  });

  // Last: it stops the broker, so that its chain ends with the shutdown checkpoint.
  it('events export writes what events verify proves (round trip through the Redis Stream)', async () => {
    await issue('cli-connect-export');
    await h.broker.close();
    const prefix = h.config.redis.key_prefix;
    const exported = await cli([
      'events',
      'export',
      '--redis-url',
      h.config.redis.url,
      '--prefix',
      prefix,
    ]);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toMatch(/^exported \d+ events from .+:events\n$/);
    const file = join(dir, 'events.jsonl');
    writeFileSync(file, exported.stdout);
    expect(exported.stdout).toContain('"type":"chain.genesis"');
    const verified = await cli(['events', 'verify', '--trust-embedded-key', file]);
    expect(verified.stdout).toMatch(/ok: every event signed/);
    expect(verified.code).toBe(0);

    const missing = await cli([
      'events',
      'export',
      '--redis-url',
      h.config.redis.url,
      '--prefix',
      `${prefix}-none`,
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no stream .+-none:events/);
  });
});
