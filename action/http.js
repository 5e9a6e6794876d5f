// @ts-check
// node:https rather than fetch: fetch takes no per-request CA without undici, and the action
// has no dependencies.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const TIMEOUT_MS = 30_000;
const MAX_BODY = 1024 * 1024;

/**
 * @typedef {{ status: number, body: string }} HttpAnswer
 */

/**
 * One HTTP exchange; redirects are not followed (a redirect would carry the bearer token to
 * wherever it points).
 * @param {URL} url
 * @param {{ method: string, headers?: Record<string, string>, body?: string, ca?: string | undefined }} options
 * @returns {Promise<HttpAnswer>}
 */
export function send(url, options) {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: options.method,
        headers: {
          accept: 'application/json',
          'user-agent': 'jit-broker-action',
          ...options.headers,
          ...(options.body === undefined
            ? {}
            : { 'content-length': String(Buffer.byteLength(options.body)) }),
        },
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        timeout: TIMEOUT_MS,
      },
      (res) => {
        /** @type {Buffer[]} */
        const chunks = [];
        let size = 0;
        res.on('data', (/** @type {Buffer} */ chunk) => {
          size += chunk.length;
          if (size > MAX_BODY) req.destroy(new Error(`answer from ${url.host} is too large`));
          else chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url.host} did not answer in time`)));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/**
 * @param {string} body
 * @returns {Record<string, unknown>}
 */
export function parseJson(body) {
  try {
    const parsed = JSON.parse(body);
    return parsed !== null && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}
