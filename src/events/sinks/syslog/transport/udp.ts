import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  type CollectorAddress,
  collectorError,
  collectorUrl,
  deadline,
  type SyslogTransport,
} from './transport.js';

/** Largest UDP payload: 65,535 less the UDP header (8) and, over IPv4, the IP header (20). */
export const MAX_UDP_MESSAGE = { 4: 65_507, 6: 65_527 } as const;

interface UdpEndpoint {
  socket: UdpSocket;
  family: 4 | 6;
}

/**
 * UDP (RFC 5426): one datagram per message, on a socket connected once (the host is resolved
 * once, and again after an error). UDP says nothing about delivery: with the receiver down,
 * sends still succeed and the datagrams are lost.
 */
export class UdpTransport implements SyslogTransport {
  readonly #options: CollectorAddress;
  readonly #url: string;
  #opening: Promise<UdpEndpoint> | undefined;
  #closed = false;

  constructor(options: CollectorAddress) {
    this.#options = options;
    this.#url = collectorUrl('udp', options);
  }

  async send(messages: readonly Buffer[]): Promise<void> {
    if (this.#closed) throw new Error(`syslog ${this.#url}: sink is closed`);
    const timeout = deadline(this.#options.timeoutMs, this.#url);
    if (this.#opening === undefined) this.#opening = this.#open();
    const opening = this.#opening;
    try {
      const { socket, family } = await Promise.race([opening, timeout.promise]);
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
          timeout.promise,
        ]);
      }
    } catch (err) {
      if (!(err instanceof OversizeError)) this.#retire(opening);
      throw collectorError(err, this.#url);
    } finally {
      timeout.clear();
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

/** An event too big for one datagram: it fails every attempt, and is not a socket fault. */
class OversizeError extends Error {}

function closeUdp(socket: UdpSocket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // Already closed.
    }
  });
}
