import type { BrokerConfig } from '../config/schema.js';
import type { FetchLike } from '../identity/fetch-json.js';
import { IdJagVerifier } from '../identity/id-jag.js';
import type { ReplayGuard } from '../identity/replay-guard.js';
import { ResourceIndex } from './resources.js';

/**
 * What the broker needs to act as an OAuth authorization server (RFC 8414): its issuer, the
 * resources it issues for, and the enterprise IdPs whose grants it redeems. Built with the
 * rest of the runtime, so a reload swaps it whole.
 */
export interface AuthorizationServer {
  /** The broker's public URL: `iss` of every token it signs, and its metadata `issuer`. */
  readonly issuer: string;
  readonly resources: ResourceIndex;
  readonly idJag: IdJagVerifier;
}

export interface AuthorizationServerOptions {
  readonly issuer: string;
  readonly replayGuard?: ReplayGuard | undefined;
  readonly fetch?: FetchLike | undefined;
}

/** Throws TypeError naming the field on a configuration it cannot serve safely. */
export function buildAuthorizationServer(
  config: BrokerConfig,
  options: AuthorizationServerOptions,
): AuthorizationServer {
  const targets = config.targets.map((t) => ({ name: t.name, audience: t.audience }));
  const resources = new ResourceIndex(config.resources, targets);
  let idJag: IdJagVerifier;
  try {
    idJag = new IdJagVerifier(config.enterprise_idps, options.issuer, {
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.replayGuard === undefined ? {} : { replayGuard: options.replayGuard }),
    });
  } catch (err) {
    throw new TypeError(`enterprise_idps: ${(err as Error).message}`);
  }
  return { issuer: options.issuer, resources, idJag };
}

/** `<issuer>/<path>`: RFC 8414 endpoints sit under the issuer, path prefix included. */
export function endpointUrl(issuer: string, path: string): string {
  return `${issuer.replace(/\/+$/, '')}${path}`;
}
