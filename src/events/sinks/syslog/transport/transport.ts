import { isIP } from 'node:net';

/** Carries framed-or-not RFC 5424 messages to one collector. */
export interface SyslogTransport {
  /** One attempt; rejects if any message of the batch may not have been taken. */
  send(messages: readonly Buffer[]): Promise<void>;
  close(): Promise<void>;
}

export interface CollectorAddress {
  host: string;
  port: number;
  /** Limit on one `send`: resolving the host, connecting (TLS handshake included) and sending. */
  timeoutMs: number;
}

/** `tls://host:port`, as errors name the collector (an IPv6 literal in brackets). */
export function collectorUrl(scheme: string, { host, port }: CollectorAddress): string {
  return `${scheme}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** A promise that rejects after `ms`; `clear` before it settles, or the timer keeps running. */
export function deadline(ms: number, url: string): { promise: Promise<never>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`syslog ${url}: no answer within ${ms} ms`)), ms);
  });
  promise.catch(() => {});
  return { promise, clear: () => clearTimeout(timer) };
}

/** Every transport error names the collector once. */
export function collectorError(err: unknown, url: string): Error {
  if (err instanceof Error && err.message.startsWith(`syslog ${url}:`)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`syslog ${url}: ${message}`, { cause: err });
}
