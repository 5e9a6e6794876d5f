import { type FetchPolicy, fetchableUrl, fetchJson } from './fetch-json.js';

/**
 * Finds an issuer's `jwks_uri` through OpenID Connect Discovery 1.0 §4. The document must
 * name exactly the configured issuer (§4.3: otherwise another issuer's keys would be
 * trusted for ours), and its `jwks_uri` must share the issuer's origin, so whoever serves
 * the discovery document cannot point key selection at a host of their choosing.
 */
export async function discoverJwksUri(issuer: string, policy: FetchPolicy): Promise<string> {
  const base = issuer.endsWith('/') ? issuer.slice(0, -1) : issuer;
  const document = await fetchJson(`${base}/.well-known/openid-configuration`, policy);
  if (document.issuer !== issuer) {
    throw new Error('the discovery document names another issuer');
  }
  const jwksUri = document.jwks_uri;
  if (typeof jwksUri !== 'string') throw new Error('the discovery document has no jwks_uri');
  let target: URL;
  try {
    target = fetchableUrl(jwksUri, policy.allowInsecureLoopback);
  } catch (cause) {
    throw new Error(`the discovery document's jwks_uri is refused: ${(cause as Error).message}`);
  }
  if (target.origin !== new URL(issuer).origin) {
    throw new Error(`the discovery document's jwks_uri is on another origin (${target.origin})`);
  }
  return jwksUri;
}
