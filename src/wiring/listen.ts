import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import type { BrokerConfig } from '../config/schema.js';

/**
 * Node refuses a request whose headers exceed this with 431 before the broker sees it. It is
 * set well above the broker's own 16 KiB limit on `Authorization`, so an oversized token is
 * refused by the broker (401 and an `auth.failed` event), not silently by the HTTP parser.
 */
export const MAX_HEADER_BYTES = 64 * 1024;

export interface Listening {
  server: ServerType;
  url: string;
}

/** Binds the HTTP(S) server; rejects when the port cannot be had. */
export async function listen(
  fetch: Parameters<typeof serve>[0]['fetch'],
  config: BrokerConfig,
): Promise<Listening> {
  const tls = config.server.tls;
  const server = await new Promise<ServerType>((resolve, reject) => {
    const created = serve(
      {
        fetch,
        port: config.server.port,
        hostname: config.server.host,
        ...(tls
          ? {
              createServer: createHttpsServer,
              serverOptions: {
                cert: readFileSync(tls.cert),
                key: readFileSync(tls.key),
                maxHeaderSize: MAX_HEADER_BYTES,
              },
            }
          : { serverOptions: { maxHeaderSize: MAX_HEADER_BYTES } }),
      },
      () => resolve(created),
    );
    created.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `${tls ? 'https' : 'http'}://${config.server.host}:${address.port}`,
  };
}
