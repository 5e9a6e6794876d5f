import { Redis, type RedisOptions } from 'ioredis';
import { type AccountProvider, NO_PROVIDER_EXPIRY } from '../lib/account-provider.js';
import { leaseIdOfUser, userNameFor } from '../lib/lease-account.js';
import { OrphanClock } from '../lib/orphan-clock.js';
import { sweepOrphans } from '../lib/sweep-orphans.js';
import {
  type Minted,
  type MintRequest,
  type ProviderContext,
  ProviderError,
  type ProviderKind,
  type RenewResult,
  type RevocationHandle,
} from '../provider.js';
import type { RedisEndpoint, RedisTargetConfig } from './config.js';
import { isUserOfLease, newPassword, passwordHashRule } from './lib/account.js';
import { aclRules } from './lib/acl-rules.js';
import { type HostPort, sameEndpoint } from './lib/endpoint.js';
import { ownStoreRefusal, redisFailure } from './lib/errors.js';
import { guardedConnector } from './lib/guarded-connector.js';
import { resolveNode } from './lib/own-store.js';
import {
  type RedisCeiling,
  type RedisScope,
  redisCeilingSchema,
  redisScopeSchema,
  redisWithin,
} from './scope.js';
import { suggestRedisCeiling } from './suggest.js';
import { verifyAclUserGone } from './verify.js';

export interface RedisCredential {
  username: string;
  password: string;
  host: string;
  port: number;
  tls: boolean;
  /** ISO 8601: the broker's deadline. The ACL user itself never expires. */
  expires_at: string;
}

export type RedisAclProvider = AccountProvider<RedisScope, RedisCeiling, RedisCredential>;

const KIND = 'redis' satisfies ProviderKind;

interface Node {
  label: string;
  client: Redis;
}

export function createRedisAclProvider(
  config: RedisTargetConfig,
  ctx: ProviderContext,
): RedisAclProvider {
  const target = config.name;
  // Read at every check, not once: Sentinel and Cluster servers are re-discovered every 30 s,
  // and a failover may put the lease store on a server this target names.
  const ownStores = () => ctx.ownRedis?.() ?? [];
  // Every spelling that needs no DNS (numeric forms, `localhost`, this machine's addresses)
  // is a configuration error at start; names are resolved before every connection below.
  for (const node of [...config.nodes, config.connect]) {
    if (ownStores().some((store) => sameEndpoint(store, node))) {
      // The lease store holds every lease: a workload with a user there could read or end
      // other workloads' leases, and a sweep could delete the broker's own users.
      throw new TypeError(
        `redis target "${target}": ${node.host}:${node.port} is the broker's own lease store`,
      );
    }
  }
  // A name can move onto the lease store after start: every connection to a node, ioredis's
  // reconnects included, first resolves it and the lease store again and goes only to the
  // addresses checked.
  const Connector = guardedConnector(async (host, port) => {
    const node: HostPort = { host, port };
    const resolved = await resolveNode(node, ownStores());
    if (resolved.ownStore !== undefined) throw ownStoreRefusal(target, node, resolved.ownStore);
    return resolved.addresses;
  });
  const adminSecrets = config.admin_password === undefined ? [] : [config.admin_password];
  const nodes: Node[] = config.nodes.map((endpoint) => ({
    label: `${endpoint.host}:${endpoint.port}`,
    client: adminClient(endpoint, config, Connector),
  }));
  let closed = false;

  /**
   * The node's client, connecting again when a refused connection ended it: ioredis ends a
   * client whose connector throws, and would then fail every command with "Connection is
   * closed" instead of checking again.
   */
  function clientOf(node: Node): Redis {
    if (node.client.status === 'end' && !closed) node.client.connect().catch(() => {});
    return node.client;
  }
  const orphans = new OrphanClock();

  /** Runs `command` on every node at once; throws the first failure after all have settled. */
  async function onEveryNode<T>(
    action: string,
    secrets: readonly string[],
    command: (client: Redis) => Promise<T>,
  ): Promise<T[]> {
    const settled = await Promise.allSettled(nodes.map((node) => command(clientOf(node))));
    const results: T[] = [];
    for (const [index, outcome] of settled.entries()) {
      if (outcome.status === 'rejected') {
        const label = nodes[index]?.label ?? '?';
        throw redisFailure(target, label, action, outcome.reason, secrets);
      }
      results.push(outcome.value);
    }
    return results;
  }

  /** `ACL DELUSER` closes the user's connections too; a user a node never had is success. */
  async function deleteUser(user: string): Promise<void> {
    await onEveryNode('ACL DELUSER', adminSecrets, (client) => client.call('ACL', 'DELUSER', user));
  }

  function userOf(handle: RevocationHandle, leaseId: string): string {
    const user = handle.user === undefined ? userNameFor(config.user_prefix, leaseId) : handle.user;
    if (typeof user !== 'string' || !isUserOfLease(user, leaseId)) {
      throw new ProviderError(
        'provider_rejected',
        `redis target "${target}": the handle does not name this lease's user`,
        false,
      );
    }
    return user;
  }

  return {
    kind: KIND,
    target,
    scope: redisScopeSchema,
    ceiling: redisCeilingSchema,
    revokeConcurrency: config.revoke_concurrency,
    within: redisWithin,
    suggestCeiling: suggestRedisCeiling,

    async mint(req: MintRequest<RedisScope>): Promise<Minted<RedisCredential>> {
      const { scope } = req;
      const user = userNameFor(config.user_prefix, req.leaseId);
      const password = newPassword();
      const hash = passwordHashRule(password);
      const secrets = [...adminSecrets, password, hash];
      const rules = aclRules(scope, hash);
      try {
        await onEveryNode('ACL SETUSER', secrets, (client) =>
          client.call('ACL', 'SETUSER', user, ...rules),
        );
      } catch (err) {
        // A user on some nodes only is still a credential: remove it everywhere it landed.
        try {
          await deleteUser(user);
        } catch {
          if (err instanceof ProviderError) {
            throw new ProviderError(
              err.code,
              `${err.message}; the user could not be deleted from every node yet (the lease's revocation will)`,
              err.retryable,
            );
          }
        }
        throw err;
      }
      return {
        credential: {
          username: user,
          password,
          host: config.connect.host,
          port: config.connect.port,
          tls: config.connect.tls,
          expires_at: new Date(req.expiresAt).toISOString(),
        },
        handle: { user },
        providerExpiresAt: NO_PROVIDER_EXPIRY,
      };
    },

    async revoke(handle: RevocationHandle, leaseId: string): Promise<void> {
      await deleteUser(userOf(handle, leaseId));
    },

    verifyRevoked: (handle, leaseId) =>
      verifyAclUserGone(
        (command) => onEveryNode('ACL GETUSER', adminSecrets, command),
        userOf(handle, leaseId),
      ),

    // ACL users have no expiry to move: renewal extends only the broker's own deadline.
    async renew(): Promise<RenewResult<RedisCredential>> {
      return {};
    },

    async sweep(isLive, graceMs): Promise<number> {
      const listed = await onEveryNode('ACL USERS', adminSecrets, (client) =>
        client.call('ACL', 'USERS'),
      );
      // A user on several nodes is one candidate.
      const users = new Map<string, { key: string; leaseId: string }>();
      for (const reply of listed) {
        if (!Array.isArray(reply)) continue;
        for (const name of reply) {
          if (typeof name !== 'string' || users.has(name)) continue;
          const leaseId = leaseIdOfUser(config.user_prefix, name);
          if (leaseId !== undefined) users.set(name, { key: name, leaseId });
        }
      }
      return sweepOrphans(orphans, users.values(), isLive, graceMs, ({ key }) => deleteUser(key));
    },

    async check() {
      const settled = await Promise.allSettled(nodes.map((node) => clientOf(node).ping()));
      // A node found to be the lease store says so: "unreachable" would send an operator
      // looking for an outage.
      for (const outcome of settled) {
        if (outcome.status === 'rejected' && outcome.reason instanceof ProviderError) {
          return { ok: false, detail: outcome.reason.message };
        }
      }
      const down = nodes.filter((_, index) => settled[index]?.status !== 'fulfilled');
      if (down.length === 0) return { ok: true };
      return {
        ok: false,
        detail: `redis target "${target}": unreachable ${down.map((node) => node.label).join(', ')}`,
      };
    },

    async close() {
      // Nothing is in flight that a graceful QUIT would wait for; an unreachable node would
      // only hold QUIT in its offline queue.
      closed = true;
      for (const node of nodes) node.client.disconnect();
    },
  };
}

function adminClient(
  endpoint: RedisEndpoint,
  config: RedisTargetConfig,
  Connector: NonNullable<RedisOptions['Connector']>,
): Redis {
  const options: RedisOptions = {
    host: endpoint.host,
    port: endpoint.port,
    Connector,
    lazyConnect: true,
    // The ready check runs INFO, which the admin user is not granted.
    enableReadyCheck: false,
    connectTimeout: 5_000,
    commandTimeout: 10_000,
    // Fail a call after one reconnect attempt: the caller (reaper, issuance) owns the retries.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  };
  if (endpoint.tls) options.tls = {};
  if (config.admin_username !== undefined) options.username = config.admin_username;
  if (config.admin_password !== undefined) options.password = config.admin_password;
  const client = new Redis(options);
  // Failures reach callers through their commands; the event would only be printed.
  client.on('error', () => {});
  return client;
}
