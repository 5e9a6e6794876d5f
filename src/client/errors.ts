import type { BrokerErrorCode } from '../errors.js';

/**
 * Codes the client produces itself, when there is no problem document to read: the broker
 * was unreachable, did not answer in time, answered with something that is not ours, or the
 * workload token could not be read.
 */
export type ClientErrorCode =
  | 'network_error'
  | 'timeout'
  | 'invalid_response'
  | 'http_error'
  | 'token_unavailable';

/** Every `code` a {@link JitBrokerError} can carry, so `switch (err.code)` narrows. */
export type JitBrokerErrorCode = BrokerErrorCode | ClientErrorCode;

export interface ProblemReason {
  readonly code: string;
  readonly message: string;
  readonly policy?: string;
}

/** One schema violation of a 422 `invalid_request`. */
export interface ProblemFieldError {
  readonly path: string;
  readonly message: string;
}

export interface JitBrokerErrorInit {
  status: number;
  code: JitBrokerErrorCode;
  detail: string;
  requestId?: string | undefined;
  retryAfter?: number | undefined;
  reasons?: readonly ProblemReason[] | undefined;
  errors?: readonly ProblemFieldError[] | undefined;
  cause?: unknown;
}

/**
 * A failed broker call. `status` is the HTTP status, or 0 when no response arrived.
 * The message is built only from the problem document's `code` and `detail` (which the
 * broker guarantees free of secrets), never from the request: no token, no credential.
 */
export class JitBrokerError extends Error {
  override readonly name = 'JitBrokerError';
  readonly status: number;
  readonly code: JitBrokerErrorCode;
  readonly detail: string;
  readonly requestId: string | undefined;
  /** Seconds after which a retry may succeed (429 and 503 with `Retry-After`). */
  readonly retryAfter: number | undefined;
  /** Policy reasons for a 403, when the broker gave them. */
  readonly reasons: readonly ProblemReason[];
  /** Which fields of the request were invalid, for a 422. */
  readonly errors: readonly ProblemFieldError[];

  constructor(init: JitBrokerErrorInit) {
    const where = init.status === 0 ? '' : `${init.status} `;
    const id = init.requestId === undefined ? '' : ` (request ${init.requestId})`;
    super(
      `jit-broker: ${where}${init.code}: ${init.detail}${id}`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail;
    this.requestId = init.requestId;
    this.retryAfter = init.retryAfter;
    this.reasons = init.reasons ?? [];
    this.errors = init.errors ?? [];
  }
}

export function isJitBrokerError(err: unknown): err is JitBrokerError {
  return err instanceof JitBrokerError;
}
