import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import type { EventSink, SinkMode } from '../sink.js';
import type { BrokerEvent, EventType, Severity } from '../types.js';
import { serializeEvent } from './stdout.js';

export type SyslogFormat = 'json' | 'ocsf' | 'cef';

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
  tls?: {
    /** PEM of the CA(s) to trust instead of Node's bundled roots. */
    ca?: string;
    /** SNI name, and the name the certificate must carry; default `host`. */
    servername?: string;
    /** Default true. */
    rejectUnauthorized?: boolean;
  };
  /** Limit on one `write`: resolving the host, connecting (TLS handshake included) and sending. */
  timeoutMs: number;
}

export interface SyslogMessageOptions {
  format: SyslogFormat;
  /** Default 10 (authpriv). */
  facility?: number;
  /** Default `jit-broker`. */
  appName?: string;
  /** Default `os.hostname()`. */
  hostname?: string;
  /** Default `process.pid`. */
  procId?: number | string;
}

export const DEFAULT_FACILITY = 10;
export const DEFAULT_APP_NAME = 'jit-broker';
/** SD-ID of our structured data: 32473 is the private enterprise number kept for examples (RFC 5612). */
export const SD_ID = 'jit@32473';
/** Largest UDP payload: 65,535 less the UDP header (8) and, over IPv4, the IP header (20). */
export const MAX_UDP_MESSAGE = { 4: 65_507, 6: 65_527 } as const;

const NILVALUE = '-';
const BOM = '\uFEFF';

/** RFC 5424 §6.2.1 severities: 2 critical, 3 error, 4 warning, 5 notice, 6 informational. */
const SYSLOG_SEVERITY: Record<Severity, number> = {
  info: 6,
  low: 5,
  medium: 4,
  high: 3,
  critical: 2,
};

/**
 * CEF severity 0–10 (ArcSight bands: 0–3 low, 4–6 medium, 7–8 high, 9–10 very high). `low`
 * shares `info`'s 3 so that it stays in the low band.
 */
const CEF_SEVERITY: Record<Severity, number> = {
  info: 3,
  low: 3,
  medium: 5,
  high: 8,
  critical: 10,
};

/** CEF `Name`: what a SIEM console shows. */
const CEF_NAMES: Record<EventType, string> = {
  'credential.issued': 'Credential issued',
  'credential.denied': 'Credential denied',
  'auth.failed': 'Authentication failed',
  'lease.revoked': 'Lease revoked',
  'lease.expired': 'Lease expired',
  'lease.renewed': 'Lease renewed',
  'lease.revoke_failed': 'Lease revocation failed',
  'task.ended': 'Task ended',
  'workload.revoked': 'Workload revoked',
  'workload.blocked': 'Workload blocked',
  'workload.unblocked': 'Workload unblocked',
  'operator.break_glass_used': 'Break-glass access used',
  'policy.reloaded': 'Policy reloaded',
  'issuance.frozen': 'Issuance frozen',
  'issuance.unfrozen': 'Issuance unfrozen',
  'chain.genesis': 'Audit chain started',
  'chain.checkpoint': 'Audit chain checkpoint',
};

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * One RFC 5424 message, without transport framing:
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [jit@32473 instance="…" seq="…"] MSG`.
 *
 * MSG is the serialized event. For `json` and `ocsf` it is UTF-8 and starts with the BOM, as
 * RFC 5424 §6.4 asks of a UTF-8 MSG. For `cef` it carries no BOM: CEF is UTF-8 by its own
 * spec, and collectors find a CEF payload by matching `CEF:` at the start of MSG, which a BOM
 * would break. So a CEF MSG is MSG-ANY to a strict RFC 5424 parser, and UTF-8 to a CEF one.
 */
export function formatSyslog(event: BrokerEvent, options: SyslogMessageOptions): string {
  const facility = options.facility ?? DEFAULT_FACILITY;
  checkFacility(facility);
  const pri = facility * 8 + SYSLOG_SEVERITY[event.severity];
  const timestamp = RFC3339.test(event.time) ? event.time : NILVALUE;
  const header = [
    `<${pri}>1`,
    timestamp,
    headerField(options.hostname ?? osHostname(), 255),
    headerField(options.appName ?? DEFAULT_APP_NAME, 48),
    headerField(String(options.procId ?? process.pid), 128),
    headerField(event.type, 32),
  ].join(' ');
  const sd = `[${SD_ID} instance="${sdParam(event.instance)}" seq="${sdParam(String(event.seq))}"]`;
  const msg =
    options.format === 'cef' ? cefMessage(event) : BOM + serializeEvent(event, options.format);
  return `${header} ${sd} ${msg}`;
}

/**
 * The event as ArcSight Common Event Format 0:
 * `CEF:0|jit-broker|jit-broker|1|<type>|<name>|<severity>|<extension>`.
 *
 * Extension: `rt` epoch ms, `act` type, `suser` workload, `suid` subject, `outcome`, `reason`,
 * `externalId` lease id, `destinationServiceName` target, `src` source IP, `cs1` instance,
 * `cs2` actor (the operator who acted), `cs3` event id, `cs4` request id, `cn1` seq. Keys of
 * absent fields are left out. The hash chain does not survive the mapping: a SIEM that
 * verifies the chain needs `json` or `ocsf`.
 */
export function cefMessage(event: BrokerEvent): string {
  const header = [
    'CEF:0',
    cefHeader('jit-broker'),
    cefHeader('jit-broker'),
    cefHeader('1'),
    cefHeader(event.type),
    cefHeader(CEF_NAMES[event.type] ?? event.type),
    String(CEF_SEVERITY[event.severity]),
  ].join('|');
  const time = Date.parse(event.time);
  const pairs: [string, string | number | undefined][] = [
    ['rt', Number.isFinite(time) ? time : undefined],
    ['act', event.type],
    ['suser', event.workload],
    ['suid', event.subject],
    ['outcome', event.outcome],
    ['reason', event.reason],
    ['externalId', event.lease_id],
    ['destinationServiceName', event.target],
    ['src', event.source_ip !== undefined && isIP(event.source_ip) ? event.source_ip : undefined],
    ['cs1Label', 'instance'],
    ['cs1', event.instance],
    ['cs2Label', event.actor === undefined ? undefined : 'actor'],
    ['cs2', event.actor],
    ['cs3Label', 'event_id'],
    ['cs3', event.id],
    ['cs4Label', event.request_id === undefined ? undefined : 'request_id'],
    ['cs4', event.request_id],
    ['cn1Label', 'seq'],
    ['cn1', event.seq],
  ];
  const extension = pairs
    .filter((pair): pair is [string, string | number] => pair[1] !== undefined)
    .map(([key, value]) => `${key}=${cefValue(String(value))}`)
    .join(' ');
  return `${header}|${extension}`;
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
  const transport =
    options.transport === 'udp' ? new UdpTransport(options) : new StreamTransport(options);
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

interface Transport {
  send(messages: readonly Buffer[]): Promise<void>;
  close(): Promise<void>;
}

/** A connection and what became of it; `dead` once it errored, ended or closed. */
interface Connection {
  socket: Socket;
  ready: Promise<void>;
  dead: boolean;
  used: boolean;
}

/** TCP or TLS: one lazily opened connection, replaced after any error or close. */
class StreamTransport implements Transport {
  readonly #options: SyslogSinkOptions;
  readonly #url: string;
  #connection: Connection | undefined;
  #closed = false;

  constructor(options: SyslogSinkOptions) {
    this.#options = options;
    this.#url = endpoint(options);
  }

  async send(messages: readonly Buffer[]): Promise<void> {
    if (this.#closed) throw new Error(`syslog ${this.#url}: sink is closed`);
    const frames: Buffer[] = [];
    for (const message of messages) frames.push(Buffer.from(`${message.length} `), message);
    const payload = Buffer.concat(frames);

    let current = this.#connection;
    if (current?.dead) {
      this.#drop(current);
      current = undefined;
    }
    let connection = current ?? this.#open();
    const deadline = timeout(this.#options.timeoutMs, this.#url);
    try {
      await Promise.race([connection.ready, deadline.promise]);
      if (connection.used) {
        // The peer may have closed or reset the connection while it sat idle. Let a FIN or
        // RST that already came in be read (one turn of the event loop): written into a dead
        // socket, the batch would be lost although the write succeeded. Nothing of this
        // batch went out yet, so a fresh connection is still the same attempt.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (connection.dead) {
          this.#drop(connection);
          connection = this.#open();
          await Promise.race([connection.ready, deadline.promise]);
        }
      }
      connection.used = true;
      await Promise.race([writeAll(connection.socket, payload), deadline.promise]);
    } catch (err) {
      // Whatever went out of this payload may have cut a frame short: never write on it again.
      this.#drop(connection);
      throw wrap(err, this.#url);
    } finally {
      deadline.clear();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection === undefined) return;
    const { socket } = connection;
    if (socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => socket.destroy(), this.#options.timeoutMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      // Until connected there is nothing to end cleanly.
      if (connection.dead || socket.connecting) socket.destroy();
      else socket.end();
    });
  }

  #open(): Connection {
    const { host, port } = this.#options;
    let socket: Socket;
    let readyEvent: string;
    if (this.#options.transport === 'tls') {
      const tls = this.#options.tls ?? {};
      const tlsOptions: ConnectionOptions = {
        host,
        port,
        minVersion: 'TLSv1.2',
        rejectUnauthorized: tls.rejectUnauthorized ?? true,
      };
      if (tls.ca !== undefined) tlsOptions.ca = tls.ca;
      if (tls.servername !== undefined) tlsOptions.servername = tls.servername;
      socket = tlsConnect(tlsOptions);
      readyEvent = 'secureConnect';
    } else {
      socket = netConnect({ host, port });
      readyEvent = 'connect';
    }
    socket.setKeepAlive(true, 60_000);
    const connection: Connection = { socket, ready: Promise.resolve(), dead: false, used: false };
    connection.ready = new Promise<void>((resolve, reject) => {
      socket.once(readyEvent, resolve);
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('connection closed before it was ready')));
    });
    // Settled by `send`; a late rejection must not become an unhandled one.
    connection.ready.catch(() => {});
    const die = () => {
      connection.dead = true;
      if (this.#connection === connection) this.#connection = undefined;
    };
    socket.on('error', die);
    socket.on('end', die);
    socket.on('close', die);
    // Receivers send nothing, but reading is how a FIN from them is noticed.
    socket.on('data', () => {});
    this.#connection = connection;
    return connection;
  }

  #drop(connection: Connection): void {
    connection.dead = true;
    connection.socket.destroy();
    if (this.#connection === connection) this.#connection = undefined;
  }
}

/**
 * UDP: one datagram per message, on a socket connected once (the host is resolved once, and
 * again after an error). UDP says nothing about delivery: with the receiver down, sends still
 * succeed and the datagrams are lost.
 */
class UdpTransport implements Transport {
  readonly #options: SyslogSinkOptions;
  readonly #url: string;
  #opening: Promise<UdpEndpoint> | undefined;
  #closed = false;

  constructor(options: SyslogSinkOptions) {
    this.#options = options;
    this.#url = endpoint(options);
  }

  async send(messages: readonly Buffer[]): Promise<void> {
    if (this.#closed) throw new Error(`syslog ${this.#url}: sink is closed`);
    const deadline = timeout(this.#options.timeoutMs, this.#url);
    if (this.#opening === undefined) this.#opening = this.#open();
    const opening = this.#opening;
    try {
      const { socket, family } = await Promise.race([opening, deadline.promise]);
      // Check the whole batch before sending any of it, so a retry repeats nothing.
      const limit = MAX_UDP_MESSAGE[family];
      const tooLong = messages.findIndex((message) => message.length > limit);
      if (tooLong !== -1) {
        throw new OversizeError(
          `syslog ${this.#url}: message ${tooLong} of the batch is ${messages[tooLong]?.length} bytes, more than one UDP datagram holds (${limit}); not truncating`,
        );
      }
      for (const message of messages) {
        await Promise.race([
          new Promise<void>((resolve, reject) => {
            socket.send(message, (err) => (err ? reject(err) : resolve()));
          }),
          deadline.promise,
        ]);
      }
    } catch (err) {
      if (!(err instanceof OversizeError)) this.#retire(opening);
      throw wrap(err, this.#url);
    } finally {
      deadline.clear();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const opening = this.#opening;
    this.#opening = undefined;
    if (opening === undefined) return;
    const opened = await opening.catch(() => undefined);
    if (opened !== undefined) await closeUdp(opened.socket);
  }

  async #open(): Promise<UdpEndpoint> {
    const { host, port } = this.#options;
    const literal = isIP(host);
    const address =
      literal === 0 ? await lookup(host) : { address: host, family: literal === 6 ? 6 : 4 };
    const family = address.family === 6 ? 6 : 4;
    const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(port, address.address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await closeUdp(socket);
      throw err;
    }
    const opened: UdpEndpoint = { socket, family };
    // An asynchronous socket error retires the socket.
    socket.on('error', () => {
      const current = this.#opening;
      if (current !== undefined) {
        void current.then(
          (active) => {
            if (active === opened) this.#retire(current);
          },
          () => {},
        );
      }
    });
    return opened;
  }

  /** Forgets `opening` (if still current) and closes its socket; the next send opens anew. */
  #retire(opening: Promise<UdpEndpoint>): void {
    if (this.#opening === opening) this.#opening = undefined;
    opening.then(
      ({ socket }) => closeUdp(socket),
      () => {},
    );
  }
}

interface UdpEndpoint {
  socket: UdpSocket;
  family: 4 | 6;
}

function closeUdp(socket: UdpSocket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // Already closed.
    }
  });
}

class OversizeError extends Error {}

function writeAll(socket: Socket, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(payload, (err) => (err ? reject(err) : resolve()));
  });
}

function timeout(ms: number, url: string): { promise: Promise<never>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`syslog ${url}: no answer within ${ms} ms`)), ms);
  });
  promise.catch(() => {});
  return { promise, clear: () => clearTimeout(timer) };
}

function wrap(err: unknown, url: string): Error {
  if (err instanceof Error && err.message.startsWith(`syslog ${url}:`)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`syslog ${url}: ${message}`, { cause: err });
}

function endpoint(options: SyslogSinkOptions): string {
  const host = isIP(options.host) === 6 ? `[${options.host}]` : options.host;
  return `${options.transport}://${host}:${options.port}`;
}

/** PRINTUSASCII only (%d33-126), at most `max` characters; NILVALUE when nothing is left. */
function headerField(value: string, max: number): string {
  let out = '';
  for (const char of value) {
    if (out.length >= max) break;
    const code = char.codePointAt(0) ?? 0;
    out += code >= 33 && code <= 126 ? char : '_';
  }
  return out === '' ? NILVALUE : out;
}

/** RFC 5424 §6.3.3: `"`, `\` and `]` are escaped with a backslash in PARAM-VALUE. */
function sdParam(value: string): string {
  return value.replace(/["\\\]]/g, '\\$&');
}

/** CEF header fields: `\` and `|` escaped; a line break has no escape there and becomes a space. */
function cefHeader(value: string): string {
  return value.replace(/[\\|]/g, '\\$&').replace(/\r\n|[\r\n]/g, ' ');
}

/** CEF extension values: `\` and `=` escaped, line breaks written as `\n` and `\r`. */
function cefValue(value: string): string {
  return value.replace(/[\\=\r\n]/g, (char) => {
    if (char === '\n') return '\\n';
    if (char === '\r') return '\\r';
    return `\\${char}`;
  });
}

function checkFacility(facility: number): void {
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) {
    throw new TypeError(`syslog facility must be an integer 0–23, not ${facility}`);
  }
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
