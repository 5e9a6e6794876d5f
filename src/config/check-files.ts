import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { privateKeyRule } from './private-key-rule.js';

/** A problem at a config path; the caller names the path. */
export interface FileIssue {
  path: (string | number)[];
  message: string;
}

export interface FileCheckOptions {
  /** Paths whose value is an `--offline-secrets` stand-in: nothing real to parse. */
  standIns: ReadonlySet<string>;
  /** Offline, plain file paths name files of the deployment, not of the CI runner. */
  offline: boolean;
  /** Plain file paths (not the `${file:}` in them) that were not read. */
  unreadFiles: FileIssue[];
}

type Tree = Record<string, unknown>;

/**
 * Reads and parses every file and PEM the config names, as `serve` would at start or at
 * listen: a TLS key that is really a certificate, or a CA bundle that is not one, is found
 * here with its field, not as a bare OpenSSL error when the port opens.
 */
export function fileIssues(tree: unknown, options: FileCheckOptions): FileIssue[] {
  const issues: FileIssue[] = [];
  const root = (isObject(tree) ? tree : {}) as Tree;
  const read = (path: (string | number)[], file: unknown): string | undefined => {
    if (typeof file !== 'string' || file === '') return undefined;
    if (options.offline) {
      options.unreadFiles.push({ path, message: `file ${file}` });
      return undefined;
    }
    try {
      // Relative to the working directory, as the broker reads them.
      return readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      issues.push({ path, message: `cannot read file ${file} (${code})` });
      return undefined;
    }
  };

  const server = root.server;
  const tls = isObject(server) ? server.tls : undefined;
  if (isObject(tls)) {
    const certText = read(['server', 'tls', 'cert'], tls.cert);
    const keyText = read(['server', 'tls', 'key'], tls.key);
    const cert = certText === undefined ? undefined : certificate(certText);
    const key = keyText === undefined ? undefined : privateKey(keyText);
    if (certText !== undefined && cert === undefined) {
      issues.push({ path: ['server', 'tls', 'cert'], message: notACertificate(certText) });
    }
    if (keyText !== undefined && key === undefined) {
      issues.push({ path: ['server', 'tls', 'key'], message: notAKey(keyText) });
    }
    if (cert !== undefined && key !== undefined && !cert.checkPrivateKey(key)) {
      issues.push({
        path: ['server', 'tls', 'key'],
        message: 'does not match the certificate in server.tls.cert',
      });
    }
  }

  forEach(root.issuers, (issuer, i) => {
    const bundle = read(['issuers', i, 'ca_file'], issuer.ca_file);
    if (bundle !== undefined) caIssue(['issuers', i, 'ca_file'], bundle, issues);
    const review = issuer.token_review;
    if (isObject(review)) {
      const reviewBundle = read(['issuers', i, 'token_review', 'ca_file'], review.ca_file);
      if (reviewBundle !== undefined) {
        caIssue(['issuers', i, 'token_review', 'ca_file'], reviewBundle, issues);
      }
    }
  });

  const events = root.events;
  forEach(isObject(events) ? events.syslog : undefined, (sink, i) => {
    const path = ['events', 'syslog', i, 'tls', 'ca'];
    const ca = isObject(sink.tls) ? sink.tls.ca : undefined;
    if (typeof ca === 'string' && !options.standIns.has(path.join('.'))) caIssue(path, ca, issues);
  });

  forEach(root.targets, (target, i) => {
    const path = ['targets', i, 'private_key'];
    const rule = privateKeyRule(target.provider);
    if (rule === undefined || typeof target.private_key !== 'string') return;
    if (options.standIns.has(path.join('.'))) return;
    const key = privateKey(target.private_key);
    if (key === undefined) issues.push({ path, message: notAKey(target.private_key) });
    else if (key.asymmetricKeyType !== rule.keyType) {
      issues.push({
        path,
        message: `${rule.describe} is ${rule.keyType.toUpperCase()}, not ${key.asymmetricKeyType}`,
      });
    }
  });
  return issues;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function caIssue(path: (string | number)[], text: string, issues: FileIssue[]): void {
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    issues.push({ path, message: `no PEM certificate found (${notACertificate(text)})` });
    return;
  }
  blocks.forEach((block, n) => {
    if (certificate(block) === undefined) {
      issues.push({ path, message: `certificate ${n + 1} of the bundle does not parse` });
    }
  });
}

function certificate(text: string): X509Certificate | undefined {
  try {
    return new X509Certificate(text);
  } catch {
    return undefined;
  }
}

function privateKey(text: string): KeyObject | undefined {
  try {
    return createPrivateKey(text);
  } catch {
    return undefined;
  }
}

/** Says what the text looks like instead, from its PEM label only: never the text itself. */
function notACertificate(text: string): string {
  const label = pemLabel(text);
  return label === undefined ? 'not a PEM certificate' : `a ${label}, not a certificate`;
}

function notAKey(text: string): string {
  const label = pemLabel(text);
  return label === undefined
    ? 'not a PEM private key'
    : `a ${label}, not a private key that parses`;
}

function pemLabel(text: string): string | undefined {
  return /-----BEGIN ([A-Z0-9 ]{1,40})-----/.exec(text)?.[1]?.toLowerCase();
}

function isObject(value: unknown): value is Tree {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function forEach(list: unknown, visit: (entry: Tree, index: number) => void): void {
  if (!Array.isArray(list)) return;
  list.forEach((entry, index) => {
    if (isObject(entry)) visit(entry, index);
  });
}
