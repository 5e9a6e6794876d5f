import { Redis } from 'ioredis';
import type { RedisCredential } from '../../providers/redis/index.js';

/** Logs in as a minted ACL user; the client joins `clients` for the suite's clean-up. */
export async function loginRedis(
  credential: RedisCredential,
  clients: Redis[],
  password = credential.password,
): Promise<Redis> {
  const client = new Redis({
    host: credential.host,
    port: credential.port,
    username: credential.username,
    password,
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  clients.push(client);
  await client.connect();
  return client;
}

export async function aclUserExists(root: Redis, user: string): Promise<boolean> {
  return (await root.call('ACL', 'GETUSER', user)) !== null;
}
