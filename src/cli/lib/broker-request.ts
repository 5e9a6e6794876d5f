import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { CLI_EXIT } from '../exit-codes.js';
import { CliError } from '../io.js';
import type { BrokerTarget } from './settings.js';
import { describeTransportError } from './transport-error.js';

export interface BrokerCall {
  method: 'GET' | 'POST' | 'DELETE';
  /** Below the broker's base URL, e.g. `/v1/leases`; the base's own path is kept. */
  path: string;
  query?: URLSearchParams;
  body?: unknown;
  accept?: string;
  /** Send the token (default true); health and key endpoints are anonymous. */
  authenticate?: boolean;
}

/** The base URL's path, then the call's: `https://h/broker` + `/v1/x` is `https://h/broker/v1/x`. */
export function brokerUrl(base: URL, path: string, query?: URLSearchParams): URL {
  const url = new URL(base.href);
  url.pathname = `${base.pathname.replace(/\/+$/, '')}${path}`;
  if (query !== undefined && query.size > 0) url.search = query.toString();
  return url;
}

/**
 * Sends one request over node:http(s), since Node's global fetch takes no per-request CA
 * nor a switch for certificate checks. Resolves with the response as soon as its headers
 * arrive (the event feed streams); the timeout covers the wait for those headers.
 * Redirects are not followed: the token would go wherever a Location pointed.
 */
export function openBrokerRequest(
  target: BrokerTarget,
  call: BrokerCall,
): Promise<IncomingMessage> {
  const url = brokerUrl(target.base, call.path, call.query);
  const headers: Record<string, string> = {
    accept: call.accept ?? 'application/json, application/problem+json',
    'user-agent': 'jit-broker-cli',
  };
  if (call.authenticate !== false && target.token !== undefined) {
    headers.authorization = `Bearer ${target.token}`;
  }
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    let req: ClientRequest;
    if (url.protocol === 'https:') {
      const agent = new Agent({
        ...(target.ca === undefined ? {} : { ca: target.ca }),
        rejectUnauthorized: !target.insecureSkipVerify,
        keepAlive: false,
      });
      req = httpsRequest(url, { method: call.method, headers, agent });
    } else {
      req = httpRequest(url, { method: call.method, headers });
    }
    const timer = setTimeout(() => {
      req.destroy(
        new CliError(`no answer from ${url.host} within ${target.timeoutMs / 1000}s (timeout)`),
      );
    }, target.timeoutMs);
    req.once('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err instanceof CliError ? err : new CliError(describeTransportError(err, url)));
    });
    req.end(body);
  });
}

/** The answer's body, bounded by the same timeout as the headers. */
export function readBody(res: IncomingMessage, target: BrokerTarget): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      res.destroy();
      reject(
        new CliError(`the answer did not arrive within ${target.timeoutMs / 1000}s (timeout)`),
      );
    }, target.timeoutMs);
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    res.once('error', (err) => {
      clearTimeout(timer);
      reject(new CliError(`the answer was cut off: ${err.message}`));
    });
  });
}

/** One call whose answer is JSON; anything but a 2xx becomes a CliError saying what the broker said. */
export async function callBroker(target: BrokerTarget, call: BrokerCall): Promise<unknown> {
  const res = await openBrokerRequest(target, call);
  const text = await readBody(res, target);
  const status = res.statusCode ?? 0;
  if (status >= 200 && status < 300) {
    if (text === '') return {};
    try {
      return JSON.parse(text);
    } catch {
      throw new CliError(
        `HTTP ${status} from ${brokerUrl(target.base, call.path).href} is not JSON: is --url the broker?`,
      );
    }
  }
  throw httpError(status, res.headers['content-type'], text, brokerUrl(target.base, call.path));
}

interface Problem {
  code?: unknown;
  detail?: unknown;
  request_id?: unknown;
  errors?: unknown;
}

/**
 * What the broker refused, on one line: status, `code`, `detail`, every field error and the
 * request id (for the broker's logs). A body that is not problem+json is something else
 * answering at that URL (a proxy, a wrong path), and is said as such.
 */
export function httpError(
  status: number,
  contentType: string | undefined,
  text: string,
  url: URL,
): CliError {
  const exitCode = status === 401 || status === 403 ? CLI_EXIT.denied : CLI_EXIT.failure;
  let problem: Problem | undefined;
  if (/json/i.test(contentType ?? '')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null) problem = parsed as Problem;
    } catch {
      problem = undefined;
    }
  }
  if (problem === undefined || typeof problem.code !== 'string') {
    const redirect =
      status >= 300 && status < 400
        ? ' (redirects are not followed: point --url at the broker itself)'
        : '';
    return new CliError(`HTTP ${status} from ${url.href}${redirect}`, exitCode);
  }
  const fields = Array.isArray(problem.errors)
    ? problem.errors.map(
        (e: { path?: unknown; message?: unknown }) =>
          `${String(e.path ?? '')}: ${String(e.message ?? '')}`,
      )
    : [];
  const detail =
    typeof problem.detail === 'string' && problem.detail !== '' ? `: ${problem.detail}` : '';
  const errors = fields.length > 0 ? ` [${fields.join('; ')}]` : '';
  const request = typeof problem.request_id === 'string' ? ` (request ${problem.request_id})` : '';
  return new CliError(`HTTP ${status} ${problem.code}${detail}${errors}${request}`, exitCode);
}
