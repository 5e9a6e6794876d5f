import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { providerFactories } from '../../providers/registry.js';
import { parseConfig } from '../../src/config/load.js';
import type { BrokerConfig } from '../../src/config/schema.js';
import { createAuditKeyring } from '../../src/events/signing/index.js';
import { buildRuntime } from '../../src/runtime.js';

/**
 * The shipped example configs and deployment manifests must stay valid as the schema moves:
 * an operator copies them first. Every `${env:}` / `${file:}` reference gets a fake but
 * well-formed secret (a real ES256 key, 32 random bytes), and no test touches the network.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REFERENCE = /\$\{(env|file):([^}]+)\}/g;
const PURE_REFERENCE = /^\$\{(env|file):[^}]+\}$/;

let work: string;
let issuerJwksFile: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jit-examples-'));
  const { publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'issuer-1', alg: 'ES256', use: 'sig' };
  issuerJwksFile = join(work, 'issuer-jwks.json');
  writeFileSync(issuerJwksFile, JSON.stringify({ keys: [jwk] }));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

async function signingKeyPem(): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return exportPKCS8(privateKey);
}

/** The audit chain signs with Ed25519 (EdDSA), the jwt targets in the examples with ES256. */
async function fakeKeyFor(path: string): Promise<string> {
  if (!path.includes('/audit-keys/')) return signingKeyPem();
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return exportPKCS8(privateKey);
}

const encryptionKey = () => randomBytes(32).toString('base64');
const hex = () => randomBytes(32).toString('hex');
const breakGlassHash = () => `sha256:${createHash('sha256').update(randomBytes(32)).digest('hex')}`;

/** The fake secret for each environment variable an example may reference. */
const ENV_SECRETS: Record<string, () => string | Promise<string>> = {
  JIT_METRICS_TOKEN: hex,
  JIT_REDIS_PASSWORD: hex,
  JIT_ENCRYPTION_KEY: encryptionKey,
  JIT_ENCRYPTION_KEY_2026_09: encryptionKey,
  JIT_ENCRYPTION_KEY_2026_03: encryptionKey,
  JIT_BREAK_GLASS_ONCALL_HASH: breakGlassHash,
  JIT_DEV_ENCRYPTION_KEY: encryptionKey,
  JIT_DEV_SIGNING_KEY: signingKeyPem,
  JIT_SPLUNK_HEC_TOKEN: hex,
};

/** Every string value in a parsed YAML tree (comments are not values, so they never count). */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

function references(tree: unknown): { env: Set<string>; file: Set<string> } {
  const found = { env: new Set<string>(), file: new Set<string>() };
  for (const text of strings(tree)) {
    for (const [, kind, ref] of text.matchAll(REFERENCE)) {
      if (ref !== undefined) found[kind === 'env' ? 'env' : 'file'].add(ref);
    }
  }
  return found;
}

interface Prepared {
  config: BrokerConfig;
  env: Set<string>;
  files: Set<string>;
}

/**
 * Parses a config with a fake secret behind every reference. `${file:}` paths (absolute in
 * production, where the orchestrator mounts them) and `jwks_file` paths are pointed at temp
 * files; only the reference itself is rewritten, never the surrounding YAML.
 */
async function prepare(text: string): Promise<Prepared> {
  const tree: unknown = parse(text);
  const { env: envNames, file: filePaths } = references(tree);
  const env: NodeJS.ProcessEnv = {};
  for (const name of envNames) {
    const secret = ENV_SECRETS[name];
    if (secret === undefined) throw new Error(`no fake secret for \${env:${name}}`);
    env[name] = await secret();
  }
  let rewritten = text;
  for (const path of filePaths) {
    const password = path.endsWith('/redis_password');
    if (!password && !path.endsWith('.pem') && !path.includes('signing_key')) {
      throw new Error(`no fake secret for \${file:${path}}`);
    }
    const local = join(work, `${randomBytes(6).toString('hex')}.pem`);
    writeFileSync(local, password ? hex() : await fakeKeyFor(path));
    rewritten = rewritten.replaceAll(`\${file:${path}}`, `\${file:${local}}`);
  }
  rewritten = rewritten.replace(/^([ \t]*jwks_file:[ \t]*)\S+[ \t]*$/gm, `$1${issuerJwksFile}`);
  return {
    config: parseConfig(rewritten, { env, baseDir: work }),
    env: envNames,
    files: filePaths,
  };
}

/** A fetch that fails the test: building a runtime must not touch the network. */
const noNetwork: typeof fetch = async (input) => {
  throw new Error(`unexpected fetch of ${String(input)}`);
};

function buildOffline(config: BrokerConfig) {
  const runtime = buildRuntime(config, {
    providerContext: { brokerUrl: config.server.public_url ?? 'https://x' },
    fetch: noNetwork,
  });
  for (const provider of runtime.providers.values()) void provider.close?.();
  return runtime;
}

function jwtTargetsBuild(config: BrokerConfig): string[] {
  const kids: string[] = [];
  for (const target of config.targets.filter((t) => t.provider === 'jwt')) {
    const provider = providerFactories.jwt.create(target, { brokerUrl: 'https://x' });
    expect(provider.kind).toBe('jwt');
    expect(provider.target).toBe(target.name);
    kids.push(
      ...(provider.publicJwks?.() ?? []).flatMap((k) => (k.kid === undefined ? [] : [k.kid])),
    );
    void provider.close?.();
  }
  return kids;
}

/** Secret-bearing fields must be nothing but a reference: no inline secret slips in. */
function expectSecretsByReference(tree: Record<string, unknown>): void {
  const cfg = tree as {
    server?: { metrics_token?: unknown };
    redis?: { url?: string };
    targets?: { keys?: { private_key?: unknown }[] }[];
    events?: { signing?: { keys?: { private_key?: unknown }[] } };
    encryption?: { keys?: { key?: unknown }[] };
  };
  const secrets = [
    cfg.server?.metrics_token,
    ...(cfg.targets ?? []).flatMap((t) => (t.keys ?? []).map((k) => k.private_key)),
    ...(cfg.events?.signing?.keys ?? []).map((k) => k.private_key),
    ...(cfg.encryption?.keys ?? []).map((k) => k.key),
  ].filter((s) => s !== undefined);
  expect(secrets.length).toBeGreaterThan(0);
  for (const secret of secrets) expect(secret).toMatch(PURE_REFERENCE);
  const url = cfg.redis?.url;
  if (url !== undefined) {
    const password = /^rediss?:\/\/[^:@/]*:([^@]+)@/.exec(url)?.[1];
    if (password !== undefined) expect(password).toMatch(PURE_REFERENCE);
  }
}

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('examples/production.yaml', () => {
  const text = read('examples/production.yaml');

  it('validates against the schema with every secret supplied by reference', async () => {
    const { config, env, files } = await prepare(text);
    expect([...env].sort()).toEqual([
      'JIT_BREAK_GLASS_ONCALL_HASH',
      'JIT_ENCRYPTION_KEY_2026_03',
      'JIT_ENCRYPTION_KEY_2026_09',
      'JIT_METRICS_TOKEN',
      'JIT_REDIS_PASSWORD',
      'JIT_SPLUNK_HEC_TOKEN',
    ]);
    expect(files.size).toBe(6);
    expect(config.redis.url.startsWith('rediss://')).toBe(true);
    expect(config.redis.require_aof).toBe(true);
    expect(config.server.tls).toBeDefined();
    expect(config.server.public_url).toMatch(/^https:\/\//);
    expect(config.events.redis_stream.mode).toBe('required');
    expect(config.events.stdout.format).toBe('ocsf');
    expect(config.operators.break_glass).toHaveLength(1);
    expect(config.policies.some((p) => p.when !== undefined)).toBe(true);
    expectSecretsByReference(parse(text));
  });

  it('builds its jwt targets, publishing the next key before it signs', async () => {
    const { config } = await prepare(text);
    const kids = jwtTargetsBuild(config);
    expect(kids).toEqual(
      expect.arrayContaining(['tickets-2026-09', 'tickets-2027-03', 'deploy-2026-09']),
    );
  });

  it('signs the audit chain with a configured key, its successor published before it signs', async () => {
    const { config } = await prepare(text);
    const ring = createAuditKeyring(config.events);
    expect(ring.source).toBe('configured');
    expect(ring.publicJwks().map((k) => k.kid)).toEqual(['audit-2026-09', 'audit-2027-03']);
  });

  it('builds a whole runtime (references, ceilings, CEL) without fetching discovery', async () => {
    const { config } = await prepare(text);
    const runtime = buildOffline(config);
    expect(runtime.providers.size).toBe(config.targets.length);
    expect(runtime.policy.hash).toMatch(/\S/);
  });

  it('refuses to start when a secret is missing', () => {
    expect(() => parseConfig(text, { env: {}, baseDir: work })).toThrow(/JIT_REDIS_PASSWORD/);
  });
});

describe('examples/dev.yaml', () => {
  const text = read('examples/dev.yaml');

  it('validates and builds a runtime with keys from the environment', async () => {
    const { config, env, files } = await prepare(text);
    expect([...env].sort()).toEqual(['JIT_DEV_ENCRYPTION_KEY', 'JIT_DEV_SIGNING_KEY']);
    expect(files.size).toBe(0);
    expect(config.redis.key_prefix).toBe('jitdev');
    expect(jwtTargetsBuild(config)).toEqual(['dev-signing-1']);
    const runtime = buildOffline(config);
    expect([...runtime.workloads.keys()]).toEqual(['demo-agent', 'demo-api']);
    expectSecretsByReference(parse(text));
  });

  it('matches the shape `jit-broker dev` builds', async () => {
    const { devConfig } = await import('../../src/dev/config.js');
    const { config } = await prepare(text);
    const dev = await devConfig({ issuerUrl: 'http://127.0.0.1:1', port: 8080 });
    const shape = (c: BrokerConfig) => ({
      workloads: c.workloads.map((w) => [w.id, w.subject, w.tier]),
      targets: c.targets.map((t) => [t.name, t.provider, t.audience, t.resource_servers]),
      policies: c.policies.map((p) => [p.name, p.workloads, p.target, p.allow, p.intents]),
      audiences: [c.issuers[0]?.audience, c.operators.issuers[0]?.audience],
    });
    expect(shape(config)).toEqual(shape(dev));
  });
});

describe('deployment configs', () => {
  it('deploy/compose/broker.yaml validates and builds', async () => {
    const text = read('deploy/compose/broker.yaml');
    const { config } = await prepare(text);
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.redis.require_aof).toBe(true);
    buildOffline(config);
    expectSecretsByReference(parse(text));
  });

  it('the Helm chart config (values.yaml) validates and builds', async () => {
    const values = parse(read('deploy/helm/jit-broker/values.yaml')) as {
      config: Record<string, unknown>;
      secretEnv: { name: string }[];
    };
    const text = stringify(values.config);
    const { config, env } = await prepare(text);
    buildOffline(config);
    expectSecretsByReference(values.config);
    // Every ${env:} the config uses is wired from a Secret by the chart.
    expect([...env].sort()).toEqual(values.secretEnv.map((e) => e.name).sort());
  });

  it('the plain Kubernetes ConfigMap validates and builds', async () => {
    const docs = parseAllDocuments(read('deploy/kubernetes/broker.yaml')).map((d) => d.toJS());
    const configMap = docs.find((d) => d?.kind === 'ConfigMap') as {
      data: { 'broker.yaml': string };
    };
    const { config } = await prepare(configMap.data['broker.yaml']);
    buildOffline(config);
  });
});

describe('deployment manifests', () => {
  const yamlFiles = [
    'deploy/docker-compose.yml',
    'deploy/helm/jit-broker/Chart.yaml',
    'deploy/helm/jit-broker/values.yaml',
    ...readdirSync(join(ROOT, 'deploy/kubernetes'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => `deploy/kubernetes/${f}`),
  ];

  it.each(yamlFiles)('%s parses as YAML', (path) => {
    const docs = parseAllDocuments(read(path));
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) expect(doc.errors).toEqual([]);
  });

  it('every Kubernetes object names its kind and hardens its pods', () => {
    for (const file of yamlFiles.filter((f) => f.startsWith('deploy/kubernetes/'))) {
      for (const doc of parseAllDocuments(read(file))) {
        const object = doc.toJS() as {
          apiVersion?: string;
          kind?: string;
          spec?: { template?: { spec?: PodSpec } };
        };
        expect(object.apiVersion, file).toBeTruthy();
        expect(object.kind, file).toBeTruthy();
        const pod = object.spec?.template?.spec;
        if (object.kind === 'Deployment' && pod) expectHardened(pod, file);
      }
    }
  });

  it('the MCP server authenticates with a projected token for the broker audience', () => {
    const docs = parseAllDocuments(read('deploy/kubernetes/mcp-server.yaml')).map((d) => d.toJS());
    const deployment = docs.find((d) => d?.kind === 'Deployment') as {
      spec: { template: { spec: PodSpec } };
    };
    const sources = deployment.spec.template.spec.volumes.flatMap(
      (v) => v.projected?.sources ?? [],
    );
    const token = sources.find((s) => s.serviceAccountToken)?.serviceAccountToken;
    expect(token).toEqual({ audience: 'jit-broker', expirationSeconds: 600, path: 'token' });
    expect(deployment.spec.template.spec.automountServiceAccountToken).toBe(false);
  });
});

interface PodSpec {
  automountServiceAccountToken?: boolean;
  securityContext?: { runAsNonRoot?: boolean };
  containers: {
    securityContext?: {
      readOnlyRootFilesystem?: boolean;
      allowPrivilegeEscalation?: boolean;
      capabilities?: { drop?: string[] };
    };
  }[];
  volumes: {
    projected?: {
      sources: { serviceAccountToken?: Record<string, unknown> }[];
    };
  }[];
}

function expectHardened(pod: PodSpec, file: string): void {
  expect(pod.securityContext?.runAsNonRoot, file).toBe(true);
  for (const container of pod.containers) {
    expect(container.securityContext?.readOnlyRootFilesystem, file).toBe(true);
    expect(container.securityContext?.allowPrivilegeEscalation, file).toBe(false);
    expect(container.securityContext?.capabilities?.drop, file).toEqual(['ALL']);
  }
}
