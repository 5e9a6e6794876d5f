import type { FileIssue } from './check-files.js';

/**
 * Values copied from an example and never replaced. Each is well-formed, so the schema lets
 * it through, and each is a secret anyone can read in the example: refused by name.
 */
const PLACEHOLDER_WORDS = /change.?me|replace|example|placeholder|secret|password|todo|xxx|dummy/i;

export function placeholderIssues(tree: unknown, standIns: ReadonlySet<string>): FileIssue[] {
  const issues: FileIssue[] = [];
  const root = (tree ?? {}) as {
    server?: { metrics_token?: unknown };
    operators?: { break_glass?: { hash?: unknown }[] };
    encryption?: { keys?: { key?: unknown }[] };
  };
  const real = (path: (string | number)[]) => !standIns.has(path.join('.'));

  const token = root.server?.metrics_token;
  if (typeof token === 'string' && real(['server', 'metrics_token'])) {
    if (PLACEHOLDER_WORDS.test(token) || oneRepeatedCharacter(token)) {
      issues.push({
        path: ['server', 'metrics_token'],
        message: 'is a placeholder; generate one (e.g. openssl rand -hex 32)',
      });
    }
  }
  (Array.isArray(root.operators?.break_glass) ? root.operators.break_glass : []).forEach((e, i) => {
    const hash = e?.hash;
    if (typeof hash !== 'string' || !real(['operators', 'break_glass', i, 'hash'])) return;
    if (oneRepeatedCharacter(hash.replace(/^sha256:/, ''))) {
      issues.push({
        path: ['operators', 'break_glass', i, 'hash'],
        message: 'is a placeholder; use the hash `jit-broker operators token` prints',
      });
    }
  });
  (Array.isArray(root.encryption?.keys) ? root.encryption.keys : []).forEach((k, i) => {
    const key = k?.key;
    if (typeof key !== 'string' || !real(['encryption', 'keys', i, 'key'])) return;
    const bytes = Buffer.from(key, 'base64');
    if (bytes.length > 0 && bytes.every((b) => b === bytes[0])) {
      issues.push({
        path: ['encryption', 'keys', i, 'key'],
        message: 'is a placeholder (one byte repeated); generate one (openssl rand -base64 32)',
      });
    }
  });
  return issues;
}

function oneRepeatedCharacter(text: string): boolean {
  return text.length > 0 && [...text].every((c) => c === text[0]);
}
