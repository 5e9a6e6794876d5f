import { readBounded } from '../lib/bounded-body.js';

/** RFC 8935 §2.2: the media type of a pushed SET. */
export const SET_MEDIA_TYPE = 'application/secevent+jwt';

export type DeliveryOutcome =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** The receiver refused the SET itself: sending it again cannot help. */
      readonly permanent: boolean;
      /** What went wrong: a status and the RFC 8935 `err` code, or a network error's kind. */
      readonly error: string;
    };

export interface PushTarget {
  readonly url: string;
  readonly authorization?: string;
  readonly timeoutMs: number;
  readonly fetch: typeof fetch;
}

const ERR_CODE = /^[a-z_]{1,64}$/;
/** An RFC 8935 error body is a short JSON object; no more of it is read. */
const MAX_ERROR_BYTES = 4_096;

/**
 * Pushes one SET (RFC 8935 §2): a POST of the compact JWS, `202 Accepted` is delivery. A
 * `400` (the receiver's RFC 8935 error: bad key, issuer, audience…), `401` or `403` will
 * be refused again and is final; anything else (a network error, a timeout, `5xx`, `429`,
 * a redirect, which is not followed) is retried. The error names only the status and the
 * receiver's `err` code, never the body's free text.
 */
export async function pushSet(target: PushTarget, token: string): Promise<DeliveryOutcome> {
  let response: Response;
  try {
    response = await target.fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': SET_MEDIA_TYPE,
        accept: 'application/json',
        ...(target.authorization === undefined ? {} : { authorization: target.authorization }),
      },
      body: token,
      redirect: 'manual',
      signal: AbortSignal.timeout(target.timeoutMs),
    });
  } catch (err) {
    const timedOut = err instanceof Error && err.name === 'TimeoutError';
    return { ok: false, permanent: false, error: timedOut ? 'timeout' : 'unreachable' };
  }
  if (response.status === 202) {
    await response.body?.cancel();
    return { ok: true };
  }
  const permanent = response.status === 400 || response.status === 401 || response.status === 403;
  const code = permanent ? await errCode(response) : undefined;
  if (!permanent) await response.body?.cancel();
  return {
    ok: false,
    permanent,
    error: code === undefined ? `http ${response.status}` : `http ${response.status} ${code}`,
  };
}

async function errCode(response: Response): Promise<string | undefined> {
  try {
    // A receiver's body past the bound is not read, and not parsed.
    const text = await readBounded(response.body, MAX_ERROR_BYTES);
    if (text === null) return undefined;
    const body = JSON.parse(text) as { err?: unknown };
    return typeof body.err === 'string' && ERR_CODE.test(body.err) ? body.err : undefined;
  } catch {
    return undefined;
  }
}
