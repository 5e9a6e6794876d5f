import { discoverJwksUri } from './discovery.js';
import { type FetchPolicy, fetchableUrl, fetchJson } from './fetch-json.js';
import { FileKeySource } from './file-key-source.js';
import type { KeySource } from './key-set.js';
import { RemoteKeySource, type RemoteKeyTiming } from './remote-key-source.js';

/** The key-source fields that workload and operator issuers share. */
export interface KeySourceSettings {
  readonly issuer: string;
  readonly discovery: boolean;
  readonly jwks_uri?: string | undefined;
  readonly jwks_file?: string | undefined;
  readonly allow_insecure_loopback: boolean;
}

export interface KeySourceOptions {
  readonly fetch: typeof fetch;
  readonly now: () => number;
  readonly timing?: RemoteKeyTiming;
}

/**
 * Picks the key source. A local file wins over the network; an explicit `jwks_uri` is pinned
 * by the operator and wins over discovery, which is the only source whose URL a remote
 * document chooses.
 */
export function keySourceFor(settings: KeySourceSettings, options: KeySourceOptions): KeySource {
  if (settings.jwks_file !== undefined) return new FileKeySource(settings.jwks_file);
  const policy: FetchPolicy = {
    fetch: options.fetch,
    allowInsecureLoopback: settings.allow_insecure_loopback,
  };
  const jwksUri = settings.jwks_uri;
  if (jwksUri !== undefined) {
    fetchableUrl(jwksUri, policy.allowInsecureLoopback);
    return new RemoteKeySource(() => fetchJson(jwksUri, policy), options.now, options.timing);
  }
  if (settings.discovery) {
    fetchableUrl(settings.issuer, policy.allowInsecureLoopback);
    const load = async () => fetchJson(await discoverJwksUri(settings.issuer, policy), policy);
    return new RemoteKeySource(load, options.now, options.timing);
  }
  throw new TypeError('set one of discovery: true, jwks_uri or jwks_file');
}
