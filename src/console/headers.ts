/**
 * The Content-Security-Policy of every console response. Scripts and styles come only from
 * the broker's own files (no inline script or style, no `eval`), the API is called on the
 * same origin, and the page may not be framed, re-based or post forms elsewhere. Lease
 * fields are attacker-influenced (task ids, tools, subjects): should one ever reach the DOM
 * as markup, the policy still keeps it from running.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // Revalidate every time: an upgraded broker must not run last version's scripts.
  'cache-control': 'no-cache',
};
