import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfigFile } from '../../../src/config/validate.js';

const dir = mkdtempSync(join(tmpdir(), 'jit-validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A self-signed certificate and its key, and a second key that does not match. */
function tlsFiles(): { cert: string; key: string; otherKey: string } {
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  const otherKey = join(dir, 'other.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=broker',
      '-days',
      '1',
    ],
    { stdio: 'ignore' },
  );
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', otherKey], {
    stdio: 'ignore',
  });
  return { cert, key, otherKey };
}
const tls = tlsFiles();
const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64');

const BASE = [
  `encryption: { keys: [{ id: k1, key: "${KEY}" }] }`,
  `issuers: [{ name: idp, issuer: https://idp.example, audience: jit, jwks_file: ${join(dir, 'jwks.json')} }]`,
  'workloads: [{ id: w1, issuer: idp, subject: s, tier: read }]',
  `targets: [{ name: api, provider: jwt, audience: https://api, keys: [{ kid: k, state: active, private_key: ${JSON.stringify(
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }),
  )} }] }]`,
];
writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [] }));

function validate(lines: string[], options: { offlineSecrets?: boolean } = {}) {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return validateConfigFile(file, { env: {}, ...options });
}

const policy = (extra: string) =>
  `policies: [{ name: triage, workloads: [w1], target: api, allow: { scopes: [read] }, intents: [i], default_ttl: 1m, max_ttl: 5m${extra} }]`;

describe('config validate', () => {
  it('passes a sound file', () => {
    const result = validate([...BASE, `server: { tls: { cert: ${tls.cert}, key: ${tls.key} } }`]);
    expect(result.issues).toEqual([]);
  });

  it('names a TLS file that does not resolve, a certificate given as the key, and a key that does not match', () => {
    expect(
      validate([...BASE, `server: { tls: { cert: ${join(dir, 'nope.crt')}, key: ${tls.key} } }`])
        .issues,
    ).toEqual([
      expect.stringMatching(/^server\.tls\.cert: cannot read file .*nope\.crt \(ENOENT\)$/),
    ]);
    expect(
      validate([...BASE, `server: { tls: { cert: ${tls.cert}, key: ${tls.cert} } }`]).issues,
    ).toEqual(['server.tls.key: a certificate, not a private key that parses']);
    expect(
      validate([...BASE, `server: { tls: { cert: ${tls.cert}, key: ${tls.otherKey} } }`]).issues,
    ).toEqual(['server.tls.key: does not match the certificate in server.tls.cert']);
  });

  it('parses CA bundles, never quoting them', () => {
    const bad = validate([
      `encryption: { keys: [{ id: k1, key: "${KEY}" }] }`,
      `issuers: [{ name: idp, issuer: https://idp.example, audience: jit, jwks_file: ${join(dir, 'jwks.json')}, ca_file: ${tls.key} }]`,
    ]).issues;
    expect(bad).toEqual([
      'issuers[idp].ca_file: no PEM certificate found (a private key, not a certificate)',
    ]);
  });

  it('type-checks CEL against the declared variables, naming the policy; dynamic claims stay allowed', () => {
    const issues = validate([...BASE, policy(', when: "task.nonexistent == \\"x\\""')]).issues;
    expect(issues).toEqual([
      expect.stringMatching(/^policies\[triage\]\.when: No such key: nonexistent/),
    ]);
    expect(validate([...BASE, policy(', when: "request.ipp == \\"x\\""')]).issues[0]).toMatch(
      /^policies\[triage\]\.when: No such key: ipp/,
    );
    expect(
      validate([...BASE, policy(', when: "claims.x == \\"y\\" && has(task.tool)"')]).issues,
    ).toEqual([]);
  });

  it('suggests the key meant for an unknown one', () => {
    expect(validate([...BASE, 'polices: []']).issues).toContain(
      '(root): unknown key "polices" (did you mean "policies"?)',
    );
    expect(validate([...BASE, policy(', max_tll: 5m')]).issues).toContain(
      'policies[triage]: unknown key "max_tll" (did you mean "max_ttl"?)',
    );
  });

  it('names list entries by name', () => {
    expect(
      validate([
        ...BASE.filter((l) => !l.startsWith('workloads:')),
        'workloads: [{ id: w1, issuer: ghost, subject: s, tier: read }]',
      ]).issues,
    ).toEqual(['workloads[w1].issuer: no issuer named ghost']);
  });

  it('refuses placeholder secrets', () => {
    const issues = validate([
      `encryption: { keys: [{ id: k1, key: "${Buffer.alloc(32).toString('base64')}" }] }`,
      'server: { metrics_token: changeme-changeme-changeme }',
      `operators: { break_glass: [{ name: oncall, hash: "sha256:${'0'.repeat(64)}", role: revoker, expires_at: "2030-01-01T00:00:00Z" }] }`,
    ]).issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^encryption\.keys\[k1\]\.key: is a placeholder/),
        expect.stringMatching(/^server\.metrics_token: is a placeholder/),
        expect.stringMatching(/^operators\.break_glass\[oncall\]\.hash: is a placeholder/),
      ]),
    );
  });

  it('reports several independent errors in one run, and says what it skipped', () => {
    const issues = validate([
      ...BASE,
      'polices: []',
      `server: { tls: { cert: ${tls.cert}, key: ${tls.cert} } }`,
      policy(', when: "task.nonexistent"'),
    ]).issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\(root\): unknown key "polices"/),
        expect.stringMatching(/^server\.tls\.key: /),
        expect.stringMatching(/^policies\[triage\]\.when: /),
        expect.stringMatching(/^\(\d+ more checks skipped because the schema has errors/),
      ]),
    );
  });

  it('--offline-secrets checks examples/production.yaml without its secrets and lists what it did not check', () => {
    const text = readFileSync(join(ROOT, 'examples/production.yaml'), 'utf8');
    const result = validate([text], { offlineSecrets: true });
    expect(result.issues).toEqual([]);
    expect(result.unchecked).toEqual(
      expect.arrayContaining([
        'server.metrics_token: ${env:JIT_METRICS_TOKEN}',
        'operators.break_glass[oncall].hash: ${env:JIT_BREAK_GLASS_ONCALL_HASH}',
        'encryption.keys[k2026-09].key: ${env:JIT_ENCRYPTION_KEY_2026_09}',
        'targets[github-acme].private_key: ${file:/etc/jit-broker/keys/github-app.pem}',
        'server.tls.key: file /etc/jit-broker/tls/tls.key',
      ]),
    );
  });
});
