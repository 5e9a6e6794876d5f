import type { ProviderContext } from '../../providers/provider.js';
import type { BrokerConfig } from '../config/schema.js';
import type { Endpoint } from '../leases/redis-client.js';

/** The broker's public URL: `iss` of what it signs. */
export function brokerUrl(config: BrokerConfig): string {
  const scheme = config.server.tls ? 'https' : 'http';
  return config.server.public_url ?? `${scheme}://${config.server.host}:${config.server.port}`;
}

/** What providers learn about the broker: its URL and the servers of its own lease store. */
export function providerContext(
  config: BrokerConfig,
  modules: ProviderContext['modules'] | undefined,
  discovered: () => readonly Endpoint[],
): ProviderContext {
  const url = new URL(config.redis.url);
  const configured = [
    // In sentinel mode the URL's host is never connected to: the sentinels name the servers.
    ...(config.redis.mode === 'sentinel'
      ? []
      : [{ host: url.hostname, port: Number(url.port || 6379) }]),
    ...(config.redis.nodes ?? []),
  ];
  return {
    brokerUrl: brokerUrl(config),
    // The discovered servers as they are now, whenever a provider asks.
    ownRedis: () => [...configured, ...discovered()],
    ...(modules === undefined ? {} : { modules }),
  };
}
