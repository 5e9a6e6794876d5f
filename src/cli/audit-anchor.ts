import type { AuditPublicJwk } from '../events/signing/index.js';
import { readAuditJwks, readAuditPublicKey } from '../events/signing/index.js';
import { ed25519X } from '../events/signing/jwk.js';
import { VERIFY_EXIT } from './exit-codes.js';
import { CliError, type OperatorIo } from './io.js';

/** The path the broker publishes its audit keys at. */
export const AUDIT_KEYS_PATH = '/.well-known/jit-audit-keys.json';

/**
 * The keys a verification is anchored to: a JWK Set from a URL or a file (`--jwks`), and/or
 * one key from a file, PEM or JWK (`--public-key`). Undefined when neither is given.
 */
export async function readAnchor(
  io: OperatorIo,
  options: { jwks?: string; publicKey?: string },
): Promise<{ keys: AuditPublicJwk[]; source: string } | undefined> {
  const keys: AuditPublicJwk[] = [];
  const sources: string[] = [];
  if (options.jwks !== undefined) {
    const text = isUrl(options.jwks)
      ? await fetchText(io, options.jwks)
      : await readFile(io, options.jwks, '--jwks');
    keys.push(...usage('--jwks', () => readAuditJwks(parseJson('--jwks', text))));
    sources.push(`--jwks ${options.jwks}`);
  }
  if (options.publicKey !== undefined) {
    const text = await readFile(io, options.publicKey, '--public-key');
    keys.push(...usage('--public-key', () => publicKeyFrom(text)));
    sources.push(`--public-key ${options.publicKey}`);
  }
  return sources.length === 0 ? undefined : { keys, source: sources.join(', ') };
}

function publicKeyFrom(text: string): AuditPublicJwk[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    // A JWK keeps its kid; a JWK Set is accepted too, as the broker publishes one.
    const value = parseJson('--public-key', trimmed);
    if (typeof value === 'object' && value !== null && 'keys' in value) return readAuditJwks(value);
    // Refuses a private key, which has no business in a verifier's hands.
    readAuditPublicKey(trimmed);
    return readAuditJwks(value);
  }
  // A bare PEM names no kid: it stands for whatever kid a checkpoint names.
  return [{ kty: 'OKP', crv: 'Ed25519', x: ed25519X(readAuditPublicKey(trimmed)) }];
}

function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/**
 * A key set fetched over plain http could be swapped on the way, and would then vouch for a
 * forgery: only https, or http to this machine.
 */
async function fetchText(io: OperatorIo, source: string): Promise<string> {
  const url = new URL(source);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new CliError(`${source}: keys are fetched over https only`, VERIFY_EXIT.usage);
  }
  let res: Response;
  try {
    res = await io.fetch(url, { redirect: 'error', headers: { accept: 'application/json' } });
  } catch (err) {
    throw new CliError(`${source}: ${(err as Error).message}`, VERIFY_EXIT.usage);
  }
  if (!res.ok) throw new CliError(`${source}: HTTP ${res.status}`, VERIFY_EXIT.usage);
  return res.text();
}

async function readFile(io: OperatorIo, path: string, option: string): Promise<string> {
  try {
    return await io.read(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError(`${option}: cannot read ${path} (${code})`, VERIFY_EXIT.usage);
  }
}

function parseJson(option: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${option}: not JSON`, VERIFY_EXIT.usage);
  }
}

/** Runs `read` and turns what it throws into a usage error naming the option. */
function usage<T>(option: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${option}: ${(err as Error).message}`, VERIFY_EXIT.usage);
  }
}
