import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import {
  type CollectorAddress,
  collectorError,
  collectorUrl,
  deadline,
  type SyslogTransport,
} from './transport.js';

export interface SyslogTlsOptions {
  /** PEM of the CA(s) to trust instead of Node's bundled roots. */
  ca?: string;
  /** SNI name, and the name the certificate must carry; default `host`. */
  servername?: string;
  /** Default true. */
  rejectUnauthorized?: boolean;
}

export interface StreamTransportOptions extends CollectorAddress {
  transport: 'tcp' | 'tls';
  tls?: SyslogTlsOptions;
}

/** A connection and what became of it; `dead` once it errored, ended or closed. */
interface Connection {
  socket: Socket;
  ready: Promise<void>;
  dead: boolean;
  used: boolean;
}

/**
 * TCP (RFC 6587 §3.4.1 octet counting) or TLS (RFC 5425): one lazily opened connection,
 * replaced after any error or close. A batch resolves once the socket took it: plain syslog
 * has no acknowledgement, so a receiver that dies with bytes in flight may lose them.
 */
export class StreamTransport implements SyslogTransport {
  readonly #options: StreamTransportOptions;
  readonly #url: string;
  #connection: Connection | undefined;
  #closed = false;

  constructor(options: StreamTransportOptions) {
    this.#options = options;
    this.#url = collectorUrl(options.transport, options);
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
    const timeout = deadline(this.#options.timeoutMs, this.#url);
    try {
      await Promise.race([connection.ready, timeout.promise]);
      if (connection.used) {
        // The peer may have closed or reset the connection while it sat idle. Let a FIN or
        // RST that already came in be read (one turn of the event loop): written into a dead
        // socket, the batch would be lost although the write succeeded. Nothing of this
        // batch went out yet, so a fresh connection is still the same attempt.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (connection.dead) {
          this.#drop(connection);
          connection = this.#open();
          await Promise.race([connection.ready, timeout.promise]);
        }
      }
      connection.used = true;
      await Promise.race([writeAll(connection.socket, payload), timeout.promise]);
    } catch (err) {
      // Whatever went out of this payload may have cut a frame short: never write on it again.
      this.#drop(connection);
      throw collectorError(err, this.#url);
    } finally {
      timeout.clear();
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

function writeAll(socket: Socket, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(payload, (err) => (err ? reject(err) : resolve()));
  });
}
