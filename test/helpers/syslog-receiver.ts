import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

/** Messages a receiver took, in arrival order, and the framing errors it saw. */
export interface SyslogReceiver {
  readonly port: number;
  readonly messages: string[];
  /** Framing violations; a strict receiver drops the connection on the first one. */
  readonly errors: string[];
  /** Resolves once `count` messages arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<string[]>;
  /**
   * Stops listening; TCP/TLS: ends every connection and waits until each is closed, or with
   * `reset`, drops each at once with a RST as a crashed receiver would.
   */
  stop(options?: { reset?: boolean }): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  /** Connections accepted so far (TCP/TLS). */
  readonly connections: number;
}

class Collector {
  readonly messages: string[] = [];
  readonly errors: string[] = [];
  #waiters: (() => void)[] = [];

  push(message: string): void {
    this.messages.push(message);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  async waitFor(count: number, timeoutMs = 5_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`expected ${count} syslog messages, got ${this.messages.length}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages.slice();
  }
}

/** A UDP receiver: one datagram, one message (RFC 5426). */
export async function startUdpReceiver(): Promise<SyslogReceiver> {
  const collector = new Collector();
  // Large enough that a burst sent while the test's event loop is busy is not dropped.
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  socket.on('message', (datagram) => collector.push(datagram.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const { port } = socket.address();
  return {
    port,
    messages: collector.messages,
    errors: collector.errors,
    connections: 0,
    waitFor: (count, timeoutMs) => collector.waitFor(count, timeoutMs),
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
    restart: () => Promise.reject(new Error('the UDP receiver does not restart')),
  };
}

/**
 * A TCP (or, with `tls`, TLS) receiver that parses octet-counted frames strictly
 * (RFC 6587 §3.4.1: `MSG-LEN SP SYSLOG-MSG`, MSG-LEN a decimal without leading zeros). On a
 * violation it records an error and drops the connection. A connection that ends inside a
 * frame is recorded as an error too.
 */
export async function startStreamReceiver(
  options: { port?: number; tls?: { key: string; cert: string } } = {},
): Promise<SyslogReceiver> {
  const collector = new Collector();
  const sockets = new Set<Socket>();
  let connections = 0;
  let server: Server;
  let port = options.port ?? 0;

  const onConnection = (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    const parser = new FrameParser(
      (message) => collector.push(message),
      (error) => {
        collector.errors.push(error);
        socket.destroy();
      },
    );
    socket.on('data', (chunk: Buffer) => parser.feed(chunk));
    socket.on('end', () => parser.end());
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  };

  const listen = async () => {
    server = options.tls
      ? createTlsServer({ ...options.tls, minVersion: 'TLSv1.2' }, onConnection)
      : createNetServer(onConnection);
    // Handshakes the client refused (wrong CA) end up here; the test looks at the client.
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address !== 'object') throw new Error('no address');
    port = address.port;
  };
  await listen();

  return {
    get port() {
      return port;
    },
    messages: collector.messages,
    errors: collector.errors,
    get connections() {
      return connections;
    },
    waitFor: (count, timeoutMs) => collector.waitFor(count, timeoutMs),
    async stop(stopOptions = {}) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A graceful close: FIN, then wait for the client's. A client that never answers
      // is cut off after a second. A reset: RST at once.
      await Promise.all(
        [...sockets].map(
          (socket) =>
            new Promise<void>((resolve) => {
              if (socket.destroyed) return resolve();
              const timer = setTimeout(() => socket.destroy(), 1_000);
              socket.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              if (stopOptions.reset) socket.resetAndDestroy();
              else socket.end();
            }),
        ),
      );
      await closed;
    },
    restart: listen,
  };
}

/** RFC 6587 §3.4.1 octet counting, byte-exact: MSG-LEN counts octets, not characters. */
class FrameParser {
  readonly #onMessage: (message: string) => void;
  readonly #onError: (error: string) => void;
  #buffer = Buffer.alloc(0);
  #failed = false;

  constructor(onMessage: (message: string) => void, onError: (error: string) => void) {
    this.#onMessage = onMessage;
    this.#onError = onError;
  }

  feed(chunk: Buffer): void {
    if (this.#failed) return;
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const space = this.#buffer.indexOf(0x20);
      const digits = (space === -1 ? this.#buffer : this.#buffer.subarray(0, space)).toString(
        'latin1',
      );
      if (!/^(?:[1-9][0-9]{0,8})?$/.test(digits) || (space === -1 && digits.length > 9)) {
        this.#fail(`bad MSG-LEN ${JSON.stringify(digits.slice(0, 20))}`);
        return;
      }
      if (space === -1) return;
      if (digits === '') {
        this.#fail('frame without MSG-LEN');
        return;
      }
      const length = Number(digits);
      const end = space + 1 + length;
      if (this.#buffer.length < end) return;
      this.#onMessage(this.#buffer.subarray(space + 1, end).toString('utf8'));
      this.#buffer = this.#buffer.subarray(end);
    }
  }

  end(): void {
    if (!this.#failed && this.#buffer.length > 0) {
      this.#fail(`connection ended inside a frame (${this.#buffer.length} bytes left)`);
    }
  }

  #fail(error: string): void {
    this.#failed = true;
    this.#onError(error);
  }
}

export interface ParsedSyslog {
  pri: number;
  facility: number;
  severity: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  structuredData: string;
  /** MSG as sent, BOM included. */
  msg: string;
}

/** Splits an RFC 5424 message; throws if the header does not follow the grammar. */
export function parseSyslog(message: string): ParsedSyslog {
  const header =
    /^<(\d{1,3})>(\d{1,2}) (\S+) ([\x21-\x7e]{1,255}) ([\x21-\x7e]{1,48}) ([\x21-\x7e]{1,128}) ([\x21-\x7e]{1,32}) /.exec(
      message,
    );
  if (header === null) throw new Error(`not an RFC 5424 header: ${message.slice(0, 120)}`);
  const rest = message.slice(header[0].length);
  const sdEnd = endOfStructuredData(rest);
  const msg = rest.slice(sdEnd);
  if (msg !== '' && !msg.startsWith(' ')) throw new Error('no SP between STRUCTURED-DATA and MSG');
  const pri = Number(header[1]);
  return {
    pri,
    facility: Math.floor(pri / 8),
    severity: pri % 8,
    version: Number(header[2]),
    timestamp: header[3] ?? '',
    hostname: header[4] ?? '',
    appName: header[5] ?? '',
    procId: header[6] ?? '',
    msgId: header[7] ?? '',
    structuredData: rest.slice(0, sdEnd),
    msg: msg.slice(1),
  };
}

/** Index just past STRUCTURED-DATA: NILVALUE or SD-ELEMENTs, honouring `\"`, `\\` and `\]`. */
function endOfStructuredData(text: string): number {
  if (text.startsWith('-')) return 1;
  let index = 0;
  while (text[index] === '[') {
    let quoted = false;
    index += 1;
    for (;;) {
      const char = text[index];
      if (char === undefined) throw new Error('unterminated SD-ELEMENT');
      if (quoted && char === '\\') index += 2;
      else {
        if (char === '"') quoted = !quoted;
        index += 1;
        if (char === ']' && !quoted) break;
      }
    }
  }
  if (index === 0) throw new Error('no STRUCTURED-DATA');
  return index;
}

/** The `PARAM-NAME="value"` pairs of one SD-ELEMENT, unescaped. */
export function sdParams(structuredData: string, sdId: string): Record<string, string> {
  const start = structuredData.indexOf(`[${sdId} `);
  if (start === -1) throw new Error(`no SD-ELEMENT ${sdId} in ${structuredData}`);
  const params: Record<string, string> = {};
  const pattern = /([^\s="\]]+)="((?:[^"\\]|\\.)*)"/gy;
  pattern.lastIndex = start + sdId.length + 2;
  for (;;) {
    const match = pattern.exec(structuredData);
    if (match === null) break;
    params[match[1] ?? ''] = (match[2] ?? '').replace(/\\(.)/g, '$1');
    if (structuredData[pattern.lastIndex] === ' ') pattern.lastIndex += 1;
  }
  return params;
}

// --- Certificates -----------------------------------------------------------------------
// A private CA and a server certificate it signs, built here with node:crypto so the test
// needs no openssl binary: just enough DER for X.509 v3 with ECDSA P-256 / SHA-256.

export interface TestCa {
  cert: string;
  key: KeyObject;
  name: string;
}

export interface TestServerCert {
  cert: string;
  key: string;
}

/** A self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign). */
export function makeCa(name: string): TestCa {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = certificate({
    subject: name,
    issuer: name,
    publicKey,
    signingKey: privateKey,
    extensions: [
      extension(OID.basicConstraints, true, seq(bool(true))),
      extension(OID.keyUsage, true, bitString(Buffer.from([0x06]), 1)),
    ],
  });
  return { cert: pem(der), key: privateKey, name };
}

/** A server certificate for `localhost` and `127.0.0.1`, signed by `ca`. */
export function makeServerCert(ca: TestCa, name = 'localhost'): TestServerCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = certificate({
    subject: name,
    issuer: ca.name,
    publicKey,
    signingKey: ca.key,
    extensions: [
      extension(OID.basicConstraints, true, seq()),
      extension(OID.keyUsage, true, bitString(Buffer.from([0x80]), 7)),
      extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
      extension(
        OID.subjectAltName,
        false,
        seq(tlv(0x82, Buffer.from(name, 'ascii')), tlv(0x87, Buffer.from([127, 0, 0, 1]))),
      ),
    ],
  });
  return {
    cert: pem(der),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

function certificate(spec: {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  extensions: Buffer[];
}): Buffer {
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40; // positive, and no leading zero byte needed
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // v3
    integer(serial),
    algorithm,
    distinguishedName(spec.issuer),
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000))),
    distinguishedName(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...spec.extensions)),
  );
  const signature = sign('sha256', tbs, spec.signingKey); // DER-encoded ECDSA signature
  return seq(tbs, algorithm, bitString(signature, 0));
}

function distinguishedName(commonName: string): Buffer {
  return seq(tlv(0x31, seq(oid(OID.commonName), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), tlv(0x04, value));
}

function tlv(tag: number, content: Buffer): Buffer {
  const { length } = content;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else if (length < 0x100) header = Buffer.from([tag, 0x81, length]);
  else if (length < 0x10000) header = Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  else throw new Error('DER value too long for this helper');
  return Buffer.concat([header, content]);
}

function seq(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function integer(bytes: Buffer): Buffer {
  return tlv(0x02, bytes);
}

function bool(value: boolean): Buffer {
  return tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
}

function bitString(bytes: Buffer, unusedBits: number): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let value = arc >>> 7; value > 0; value >>>= 7) chunk.unshift((value & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return tlv(0x17, Buffer.from(text, 'ascii'));
}

function pem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
