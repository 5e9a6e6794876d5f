import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { privateKeyRule } from './private-key-rule.js';

const REFERENCE = /\$\{(env|file):([^}]+)\}/g;

/** A reference `--offline-secrets` stood in for: where, and what it named (never its value). */
export interface UncheckedReference {
  path: (string | number)[];
  reference: string;
}

/**
 * Replaces every `${env:}`/`${file:}` reference with a stand-in of the type its field expects
 * (a key of the target's algorithm, 32 bytes for an encryption key, a sha256 hash), so CI
 * can check the rest of a file whose secrets only the deployment holds.
 */
export function standInSecrets(
  tree: unknown,
  unchecked: UncheckedReference[],
  path: (string | number)[] = [],
  root: unknown = tree,
): unknown {
  if (typeof tree === 'string') {
    if (!tree.match(REFERENCE)) return tree;
    unchecked.push({ path, reference: [...tree.matchAll(REFERENCE)].map((m) => m[0]).join(' ') });
    const whole = tree.match(/^\$\{(env|file):[^}]+\}$/) !== null;
    // Inside a longer string (a password in a Redis URL) only URL-safe text fits.
    return whole ? standInFor(path, root) : tree.replace(REFERENCE, () => hex());
  }
  if (Array.isArray(tree)) {
    return tree.map((v, i) => standInSecrets(v, unchecked, [...path, i], root));
  }
  if (tree !== null && typeof tree === 'object') {
    return Object.fromEntries(
      Object.entries(tree).map(([k, v]) => [k, standInSecrets(v, unchecked, [...path, k], root)]),
    );
  }
  return tree;
}

const hex = () => randomBytes(32).toString('hex');

function standInFor(path: readonly (string | number)[], root: unknown): string {
  const [section, index, ...rest] = path;
  const field = path.at(-1);
  if (section === 'encryption' && field === 'key') return randomBytes(32).toString('base64');
  if (field === 'hash')
    return `sha256:${createHash('sha256').update(randomBytes(32)).digest('hex')}`;
  if (section === 'events' && index === 'signing' && field === 'private_key') return pem('EdDSA');
  if (section === 'ssf' && index === 'signing_key' && field === 'private_key') return pem('ES256');
  if (section === 'events' && index === 'signing' && field === 'public_key') {
    return pem('EdDSA', 'public');
  }
  if (section === 'targets' && typeof index === 'number' && rest.at(-1) === 'private_key') {
    const target = (root as { targets?: { provider?: unknown; algorithm?: unknown }[] }).targets?.[
      index
    ];
    const rule = privateKeyRule(target?.provider);
    if (rule !== undefined) return pem(rule.algorithm);
    return pem(typeof target?.algorithm === 'string' ? target.algorithm : 'ES256');
  }
  return hex();
}

function pem(algorithm: string, half: 'private' | 'public' = 'private'): string {
  const pair = keyPair(algorithm);
  return half === 'private'
    ? pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    : pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

function keyPair(algorithm: string) {
  if (algorithm === 'EdDSA') return generateKeyPairSync('ed25519');
  if (algorithm.startsWith('ES')) {
    const curve = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[algorithm] ?? 'P-256';
    return generateKeyPairSync('ec', { namedCurve: curve });
  }
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}
