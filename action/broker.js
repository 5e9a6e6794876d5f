// @ts-check
// What main and post share: the job's OIDC token and the broker's address.
import { parseJson, send } from './http.js';
import { mask } from './runner.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The broker's base URL. Plain HTTP is refused except to loopback: the request carries the
 * job's identity token, which anyone on the path could replay until it expires.
 * @param {string} value
 * @returns {URL}
 */
export function brokerUrl(value) {
  let url;
  try {
    url = new URL(value.endsWith('/') ? value : `${value}/`);
  } catch {
    throw new Error(`broker-url is not a URL: ${value}`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return url;
  throw new Error('broker-url must be https (plain http only to a loopback address)');
}

/**
 * Requests the job's GitHub Actions OIDC token for the broker's audience. Each call gets a
 * fresh token: the post step may run long after main, past the first token's expiry, and a
 * broker with one_time_jti accepts each token once.
 * @param {string} audience
 * @returns {Promise<string>}
 */
export async function jobIdToken(audience) {
  const requestUrl = process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!requestUrl || !requestToken) {
    throw new Error(
      'no OIDC token available: give the job `permissions: id-token: write` (ACTIONS_ID_TOKEN_REQUEST_URL is not set)',
    );
  }
  // The runner's URL already carries a query (api-version), so the audience is appended.
  const url = new URL(`${requestUrl}&audience=${encodeURIComponent(audience)}`);
  const answer = await send(url, {
    method: 'GET',
    headers: { authorization: `Bearer ${requestToken}` },
  });
  const token = parseJson(answer.body).value;
  if (answer.status !== 200 || typeof token !== 'string' || token === '') {
    throw new Error(`the runner refused an OIDC token (HTTP ${answer.status})`);
  }
  // A bearer credential for the broker until it expires: keep it out of the log too.
  mask(token);
  return token;
}

/**
 * The broker's error as one line: RFC 6749 `error`/`error_description` from /oauth/token,
 * RFC 9457 `title`/`detail` from the /v1 routes.
 * @param {number} status
 * @param {string} body
 */
export function brokerError(status, body) {
  const parsed = parseJson(body);
  const code = parsed.error ?? parsed.code ?? parsed.title;
  const detail = parsed.error_description ?? parsed.detail;
  const parts = [`HTTP ${status}`];
  if (typeof code === 'string') parts.push(code);
  if (typeof detail === 'string') parts.push(detail);
  return parts.join(': ');
}
