import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfigFile } from '../../../src/config/validate.js';

const dir = mkdtempSync(join(tmpdir(), 'jit-oauth-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const JWKS = join(dir, 'jwks.json');
writeFileSync(JWKS, JSON.stringify({ keys: [] }));
const KEY = randomBytes(32).toString('base64');
const PEM = JSON.stringify(
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }),
);

const BASE = [
  `encryption: { keys: [{ id: k1, key: "${KEY}" }] }`,
  `issuers: [{ name: idp, issuer: https://idp.example, audience: jit, jwks_file: ${JWKS} }]`,
  'workloads: [{ id: w1, issuer: idp, subject: s, tier: read }]',
  `targets: [{ name: mcp, provider: jwt, audience: https://mcp.example/mcp, keys: [{ kid: k, state: active, private_key: ${PEM} }] }]`,
];

function validate(lines: string[]) {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  // Notes on checks skipped after a schema error are not issues of their own.
  const { issues } = validateConfigFile(file, { env: {} });
  return { issues: issues.filter((issue) => !issue.startsWith('(')) };
}

describe('resources and enterprise IdPs in the configuration', () => {
  it('passes a resource of a target with its URI as audience, and an IdP with keys', () => {
    const result = validate([
      ...BASE,
      'resources: [{ uri: https://mcp.example/mcp, target: mcp, scopes: [read] }]',
      `enterprise_idps: [{ name: acme, issuer: https://acme.example, jwks_file: ${JWKS} }]`,
    ]);
    expect(result.issues).toEqual([]);
  });

  it('refuses a resource whose target signs for another audience, or that is not canonical', () => {
    expect(
      validate([...BASE, 'resources: [{ uri: https://other.example, target: mcp }]']).issues,
    ).toEqual([expect.stringMatching(/resources.*target.*must have audience https:\/\/other/)]);
    expect(
      validate([...BASE, 'resources: [{ uri: "https://mcp.example/mcp#x", target: mcp }]']).issues,
    ).toEqual([expect.stringMatching(/resources.*uri.*fragment/)]);
    expect(
      validate([...BASE, 'resources: [{ uri: https://mcp.example/mcp, target: nope }]']).issues,
    ).toEqual([expect.stringMatching(/resources.*target.*no target named nope/)]);
  });

  it('needs exactly one key source per IdP, and a key file that reads', () => {
    expect(
      validate([...BASE, 'enterprise_idps: [{ name: acme, issuer: https://acme.example }]']).issues,
    ).toEqual([expect.stringMatching(/enterprise_idps.*discovery.*exactly one/)]);
    expect(
      validate([
        ...BASE,
        `enterprise_idps: [{ name: acme, issuer: https://acme.example, jwks_file: ${JWKS}, jwks_uri: https://acme.example/keys }]`,
      ]).issues,
    ).toEqual([expect.stringMatching(/enterprise_idps.*exactly one/)]);
    expect(
      validate([
        ...BASE,
        `enterprise_idps: [{ name: acme, issuer: https://acme.example, jwks_file: ${join(dir, 'missing.json')} }]`,
      ]).issues,
    ).toEqual([expect.stringMatching(/^enterprise_idps.*missing\.json/)]);
  });

  it('refuses an IdP algorithm outside the JWS list', () => {
    const issues = validate([
      ...BASE,
      `enterprise_idps: [{ name: acme, issuer: https://acme.example, jwks_file: ${JWKS}, algorithms: [HS256] }]`,
    ]).issues;
    expect(issues).toEqual([expect.stringMatching(/enterprise_idps.*algorithms/)]);
  });
});
