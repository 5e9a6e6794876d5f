import type { ResolvedGuardOptions } from './options.js';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/**
 * RFC 9728 §3.1: the metadata URL inserts the well-known segment between the host and the
 * resource's path (`/.well-known/oauth-protected-resource/mcp` for `https://h/mcp`). Clients
 * that follow older MCP revisions ask at the root form, so both are served.
 */
export function metadataPaths(resource: URL): { pathForm: string; rootForm: string } {
  const path = resource.pathname === '/' ? '' : resource.pathname.replace(/\/+$/, '');
  return { pathForm: `${WELL_KNOWN}${path}`, rootForm: WELL_KNOWN };
}

/** The URL named in `WWW-Authenticate: … resource_metadata="…"` (RFC 9728 §5.1). */
export function metadataUrl(resource: URL): string {
  return new URL(metadataPaths(resource).pathForm, resource.origin).href;
}

/** RFC 9728 §2: `resource` must equal the URL the client meant, or the client discards it. */
export function protectedResourceMetadata(options: ResolvedGuardOptions): Record<string, unknown> {
  return {
    resource: options.resource.href,
    authorization_servers: [options.issuer],
    scopes_supported: options.scopesSupported,
    bearer_methods_supported: ['header'],
    resource_signing_alg_values_supported: options.algorithms,
    ...(options.resourceName === undefined ? {} : { resource_name: options.resourceName }),
  };
}
