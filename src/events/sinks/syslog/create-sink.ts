import { hostname as osHostname } from 'node:os';
import type { EventSink, SinkMode } from '../../sink.js';
import type { BrokerEvent } from '../../types.js';
import {
  checkFacility,
  DEFAULT_APP_NAME,
  DEFAULT_FACILITY,
  formatSyslog,
  type SyslogFormat,
  type SyslogMessageOptions,
} from './format/rfc5424.js';
import { StreamTransport, type SyslogTlsOptions } from './transport/stream.js';
import { UdpTransport } from './transport/udp.js';

export interface SyslogSinkOptions {
  name: string;
  host: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
  format: SyslogFormat;
  mode: SinkMode;
  /** Syslog facility 0–23; default 10 (authpriv). */
  facility?: number;
  /** APP-NAME; default `jit-broker`. */
  appName?: string;
  /** HOSTNAME; default `os.hostname()`. */
  hostname?: string;
  tls?: SyslogTlsOptions;
  /** Limit on one `write`: resolving the host, connecting (TLS handshake included) and sending. */
  timeoutMs: number;
}

/**
 * Sends events to a syslog receiver as RFC 5424 messages: one UDP datagram each (RFC 5426),
 * or octet-counted frames on one persistent TCP (RFC 6587 §3.4.1) or TLS (RFC 5425)
 * connection.
 *
 * `write` makes one attempt and rejects if any event of the batch may not have been taken;
 * the bus retries the whole batch. Over TCP/TLS the promise resolves once the socket took the
 * batch, and a receiver that dies with bytes still in flight may lose them: plain syslog has
 * no acknowledgement. A failed attempt whose bytes partly went out is retried whole, so a
 * receiver can see an event twice (the chain's `seq` tells). An event too big for one UDP
 * datagram fails every attempt rather than being truncated.
 */
export function syslogSink(options: SyslogSinkOptions): EventSink & { close(): Promise<void> } {
  checkOptions(options);
  const messageOptions: SyslogMessageOptions = {
    format: options.format,
    facility: options.facility ?? DEFAULT_FACILITY,
    appName: options.appName ?? DEFAULT_APP_NAME,
    hostname: options.hostname ?? osHostname(),
    procId: process.pid,
  };
  const { host, port, timeoutMs } = options;
  const transport =
    options.transport === 'udp'
      ? new UdpTransport({ host, port, timeoutMs })
      : new StreamTransport({
          host,
          port,
          timeoutMs,
          transport: options.transport,
          ...(options.tls === undefined ? {} : { tls: options.tls }),
        });
  return {
    name: options.name,
    mode: options.mode,
    async write(events: readonly BrokerEvent[]): Promise<void> {
      if (events.length === 0) return;
      const messages = events.map((event) => Buffer.from(formatSyslog(event, messageOptions)));
      await transport.send(messages);
    },
    close: () => transport.close(),
  };
}

function checkOptions(options: SyslogSinkOptions): void {
  if (options.name === '') throw new TypeError('syslogSink: name must not be empty');
  if (options.host === '') throw new TypeError('syslogSink: host must not be empty');
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65_535) {
    throw new TypeError(`syslogSink: port must be 1–65535, not ${options.port}`);
  }
  if (!['udp', 'tcp', 'tls'].includes(options.transport)) {
    throw new TypeError(`syslogSink: unknown transport ${String(options.transport)}`);
  }
  if (!['json', 'ocsf', 'cef'].includes(options.format)) {
    throw new TypeError(`syslogSink: unknown format ${String(options.format)}`);
  }
  if (!(options.timeoutMs > 0)) throw new TypeError('syslogSink: timeoutMs must be positive');
  checkFacility(options.facility ?? DEFAULT_FACILITY);
}
