import type { ResolvedGuardOptions } from './options.js';

/**
 * DNS-rebinding protection (MCP Streamable HTTP transport): a browser page on a foreign site
 * that resolves its own name to this server sends its own `Origin` and `Host`. A present
 * `Origin` must be allow-listed (`null`, from sandboxed frames and file pages, never is);
 * `Host` must name this server. A request without `Origin` does not come from a page.
 */
export function originRefusal(
  request: Request,
  options: ResolvedGuardOptions,
): 'foreign_origin' | 'foreign_host' | undefined {
  const origin = request.headers.get('origin');
  if (origin !== null && !options.allowedOrigins.has(origin)) return 'foreign_origin';
  const host = request.headers.get('host');
  if (host !== null && !options.allowedHosts.has(host.toLowerCase())) return 'foreign_host';
  return undefined;
}
