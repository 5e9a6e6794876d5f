import { createConnection, isIP, type LookupFunction, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { AbstractConnector, type RedisOptions } from 'ioredis';

/** The addresses a connection to `host:port` may use; throws to refuse the connection. */
export type ResolveChecked = (host: string, port: number) => Promise<readonly string[]>;

type ConnectorConstructor = NonNullable<RedisOptions['Connector']>;

/** ioredis's own default for how long a closing socket may linger. */
const DISCONNECT_TIMEOUT_MS = 2_000;

/**
 * An ioredis connector that asks `resolve` before every connection — the first, and each
 * reconnect ioredis makes on its own — and connects only to the addresses it answered. The
 * socket's own DNS lookup is answered from that list, so a record that changes between the
 * check and the connect cannot redirect it; the host name still goes to TLS for SNI and the
 * certificate check. A refusal fails the commands waiting for the connection with its error
 * and ends the client (ioredis does not retry a connector that throws): the caller connects
 * again before its next command.
 */
export function guardedConnector(resolve: ResolveChecked): ConnectorConstructor {
  return class GuardedConnector extends AbstractConnector {
    readonly #options: RedisOptions;

    constructor(options: unknown) {
      const redisOptions = options as RedisOptions;
      super(redisOptions.disconnectTimeout ?? DISCONNECT_TIMEOUT_MS);
      this.#options = redisOptions;
    }

    override async connect(): Promise<Socket> {
      const { host = 'localhost', port = 6379, tls } = this.#options;
      this.connecting = true;
      const addresses = await resolve(host, port);
      // disconnect() while the check ran: connect nowhere.
      if (!this.connecting) throw new Error('Connection is closed.');
      const lookup = answerFrom(addresses);
      const stream =
        tls === undefined
          ? createConnection({ host, port, lookup })
          : connectTls({ ...tls, host, port, lookup });
      this.stream = stream;
      stream.once('error', (err) => {
        this.firstError = err;
      });
      return stream;
    }
  };
}

/** A `dns.lookup` stand-in that only ever answers the checked addresses. */
function answerFrom(addresses: readonly string[]): LookupFunction {
  const entries = addresses.map((address) => ({ address, family: isIP(address) }));
  return (_hostname, options, callback) => {
    const first = entries[0];
    if (first === undefined) {
      callback(Object.assign(new Error('no checked address'), { code: 'ENOTFOUND' }), '', 0);
    } else if (options.all) {
      callback(null, entries);
    } else {
      callback(null, first.address, first.family);
    }
  };
}
