/**
 * Why `uri` is not a canonical resource URI, or `undefined` when it is one. RFC 8707 §2
 * wants an absolute URI without a fragment; the MCP authorization specification names a
 * server by its canonical URI: lowercase scheme and host, no default port, and no trailing
 * slash on an empty path. A resource is matched by exact comparison, so a variant spelling
 * of a configured URI is refused rather than quietly folded into it.
 */
export function nonCanonical(uri: string): string | undefined {
  if (uri.includes('#')) return 'a resource URI carries no fragment';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'a resource must be an absolute URI';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return 'a resource URI is http or https';
  }
  if (url.username !== '' || url.password !== '') return 'a resource URI carries no user info';
  if (canonicalForm(url) !== uri) {
    return `a resource URI must be written in its canonical form (${canonicalForm(url)})`;
  }
  return undefined;
}

function canonicalForm(url: URL): string {
  const path = url.pathname === '/' && url.search === '' ? '' : url.pathname;
  return `${url.protocol}//${url.host}${path}${url.search}`;
}
