import { readPrefix } from '../../../../lib/bounded-body.js';
import { scrubSecrets } from '../../../../lib/scrub-secrets.js';

/**
 * A failed write. The message names the sink and what went wrong (HTTP status, HEC's
 * `text`/`code`), never the token, the URL or a request body.
 */
export class HttpSinkError extends Error {
  override readonly name = 'HttpSinkError';
  readonly sink: string;
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** HEC's numeric `code`, when it sent one. */
  readonly hecCode: number | undefined;

  constructor(sink: string, message: string, details: { status?: number; hecCode?: number } = {}) {
    super(message);
    this.sink = sink;
    this.status = details.status;
    this.hecCode = details.hecCode;
  }
}

export interface FailureDetails {
  status?: number;
  hecCode?: number;
}

/** One sink's HTTP exchanges, and the switch that aborts them all when the sink closes. */
export interface Exchange {
  /** `event sink <name>: `, which every error message starts with. */
  readonly prefix: string;
  /** Aborted by `close()`. */
  readonly closing: AbortSignal;
  /** One POST: the status and at most `MAX_ANSWER_BYTES` of the answer. */
  post(
    target: URL,
    headers: Headers,
    body: string,
    what: string,
    ms: number,
  ): Promise<{ status: number; text: string }>;
  /** An error naming the sink, with the secrets scrubbed from its message. */
  fail(message: string, details?: FailureDetails): HttpSinkError;
  close(): void;
}

/** HEC answers are a few dozen bytes; anything longer is cut, not buffered. */
const MAX_ANSWER_BYTES = 16 * 1024;

export function openExchange(
  name: string,
  fetchImpl: typeof fetch,
  secrets: readonly string[],
): Exchange {
  // `close()` aborts whatever is in flight, so a hung server or a long ack wait cannot hold
  // shutdown past the bus's own flush deadline.
  const closing = new AbortController();
  const prefix = `event sink ${name}: `;
  const fail = (message: string, details?: FailureDetails) =>
    new HttpSinkError(name, scrubSecrets(`${prefix}${message}`, secrets), details);

  async function post(
    target: URL,
    headers: Headers,
    body: string,
    what: string,
    ms: number,
  ): Promise<{ status: number; text: string }> {
    if (closing.signal.aborted) throw fail(`${what} not sent: the sink is closed`);
    // A timer of our own rather than `AbortSignal.timeout` + `AbortSignal.any`: Node 20
    // holds both only weakly, and a signal collected mid-request never fires.
    const request = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      request.abort();
    }, ms);
    timer.unref();
    const onClose = () => request.abort();
    closing.signal.addEventListener('abort', onClose, { once: true });
    try {
      const response = await fetchImpl(target, {
        method: 'POST',
        headers,
        body,
        signal: request.signal,
        // A redirect is reported as its status, not followed: the URL is configuration.
        redirect: 'manual',
      });
      return { status: response.status, text: await readPrefix(response.body, MAX_ANSWER_BYTES) };
    } catch (err) {
      if (closing.signal.aborted) throw fail(`${what} aborted: the sink is closed`);
      if (timedOut) throw fail(`${what} got no answer within ${ms} ms`);
      throw fail(`${what} failed: ${describe(err)}`);
    } finally {
      clearTimeout(timer);
      closing.signal.removeEventListener('abort', onClose);
    }
  }

  return { prefix, closing: closing.signal, post, fail, close: () => closing.abort() };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A network error's message with its cause's code (`fetch failed (ECONNREFUSED)`). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause: unknown = err.cause;
  const code =
    isRecord(cause) && typeof cause.code === 'string'
      ? cause.code
      : cause instanceof Error
        ? cause.message
        : undefined;
  return code === undefined ? err.message : `${err.message} (${code})`;
}
