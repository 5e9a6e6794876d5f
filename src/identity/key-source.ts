import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { discoverJwksUri } from './discovery.js';
import { type FetchLike, type FetchPolicy, fetchableUrl, fetchJson } from './fetch-json.js';
import { FileKeySource } from './file-key-source.js';
import { KeySet, type KeySource } from './key-set.js';
import {
  DEFAULT_REMOTE_KEY_TIMING,
  type LoadedKeys,
  RemoteKeySource,
  type RemoteKeyTiming,
} from './remote-key-source.js';
import { trustingFetch } from './trusting-fetch.js';

/** The key-source fields that workload and operator issuers share. */
export interface KeySourceSettings {
  readonly issuer: string;
  readonly profile?: string | undefined;
  readonly discovery: boolean;
  readonly jwks_uri?: string | undefined;
  readonly jwks_file?: string | undefined;
  readonly bundle_file?: string | undefined;
  readonly bundle_url?: string | undefined;
  readonly allow_insecure_loopback: boolean;
  readonly ca_file?: string | undefined;
  readonly bearer_token_file?: string | undefined;
  /** Milliseconds. */
  readonly jwks_max_age?: number | undefined;
}

export interface KeySourceOptions {
  readonly fetch: FetchLike;
  readonly now: () => number;
  readonly timing?: RemoteKeyTiming;
}

function readConfigFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TypeError(`cannot read ${what} ${path}: ${(cause as Error).message}`);
  }
}

/**
 * How an issuer's documents are fetched: over its own CA when it names one, with a bearer
 * token read from disk per fetch (projected tokens rotate) when it names one. Both files
 * are read once here, so a missing file stops the start.
 */
export function fetchPolicyFor(
  settings: {
    readonly allow_insecure_loopback: boolean;
    readonly ca_file?: string | undefined;
    readonly bearer_token_file?: string | undefined;
  },
  fetch: FetchLike,
): FetchPolicy {
  const ca =
    settings.ca_file === undefined ? undefined : readConfigFile(settings.ca_file, 'CA bundle');
  const tokenFile = settings.bearer_token_file;
  if (tokenFile !== undefined) readConfigFile(tokenFile, 'bearer token file');
  return {
    fetch: ca === undefined ? fetch : trustingFetch(ca),
    allowInsecureLoopback: settings.allow_insecure_loopback,
    ...(tokenFile === undefined
      ? {}
      : { bearerToken: () => readFileSync(tokenFile, 'utf8').trim() }),
  };
}

/** SPIFFE bundles carry `spiffe_refresh_hint`, in seconds (SPIFFE Trust Domain and Bundle). */
function spiffeBundle(document: unknown): LoadedKeys {
  const hint = (document as { spiffe_refresh_hint?: unknown } | null)?.spiffe_refresh_hint;
  return {
    keys: KeySet.fromSpiffeBundle(document),
    refreshMs:
      typeof hint === 'number' && Number.isFinite(hint) && hint > 0 ? hint * 1000 : undefined,
  };
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new Error(`${where} is not JSON: ${(cause as Error).message}`);
  }
}

function spiffeKeySource(
  settings: KeySourceSettings,
  options: KeySourceOptions,
  timing: RemoteKeyTiming,
): KeySource {
  const policy = fetchPolicyFor(settings, options.fetch);
  const file = settings.bundle_file;
  if (file !== undefined) {
    // Read now so a broken bundle stops the start; re-read on the refresh hint, since the
    // SPIRE agent (or a sidecar) rewrites the file when the trust domain rotates keys.
    let initial: LoadedKeys;
    try {
      initial = spiffeBundle(parseJson(readConfigFile(file, 'SPIFFE bundle'), file));
    } catch (cause) {
      throw new TypeError(`SPIFFE bundle ${file}: ${(cause as Error).message}`);
    }
    const load = async () => spiffeBundle(parseJson(await readFile(file, 'utf8'), file));
    return new RemoteKeySource(load, options.now, timing, initial);
  }
  const url = settings.bundle_url;
  if (url === undefined) throw new TypeError('a spiffe issuer needs bundle_file or bundle_url');
  fetchableUrl(url, policy.allowInsecureLoopback);
  return new RemoteKeySource(
    async () => spiffeBundle(await fetchJson(url, policy)),
    options.now,
    timing,
  );
}

const jwks = (document: unknown): LoadedKeys => ({ keys: KeySet.fromJwks(document) });

/**
 * Picks the key source. A local file wins over the network; an explicit `jwks_uri` is pinned
 * by the operator and wins over discovery, which is the only source whose URL a remote
 * document chooses. SPIFFE issuers read their trust bundle instead.
 */
export function keySourceFor(settings: KeySourceSettings, options: KeySourceOptions): KeySource {
  const timing: RemoteKeyTiming = {
    ...(options.timing ?? DEFAULT_REMOTE_KEY_TIMING),
    ...(settings.jwks_max_age === undefined ? {} : { maxAgeMs: settings.jwks_max_age }),
  };
  if (settings.profile === 'spiffe') return spiffeKeySource(settings, options, timing);
  if (settings.jwks_file !== undefined) return new FileKeySource(settings.jwks_file);
  const policy = fetchPolicyFor(settings, options.fetch);
  const jwksUri = settings.jwks_uri;
  if (jwksUri !== undefined) {
    fetchableUrl(jwksUri, policy.allowInsecureLoopback);
    return new RemoteKeySource(
      async () => jwks(await fetchJson(jwksUri, policy)),
      options.now,
      timing,
    );
  }
  if (settings.discovery) {
    fetchableUrl(settings.issuer, policy.allowInsecureLoopback);
    const load = async () =>
      jwks(await fetchJson(await discoverJwksUri(settings.issuer, policy), policy));
    return new RemoteKeySource(load, options.now, timing);
  }
  throw new TypeError('set one of discovery: true, jwks_uri or jwks_file');
}
