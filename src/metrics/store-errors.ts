import { BrokerError } from '../errors.js';
import type { LeaseStore } from '../leases/types.js';

/**
 * The store, with every operation that fails because Redis did not serve it counted under
 * the operation's name (a closed set: the `LeaseStore` methods). Refusals the store means to
 * give (`workload_blocked`, `lease_cap_reached`, …) are answers, not Redis errors.
 */
export function countStoreErrors(
  store: LeaseStore,
  count: (operation: keyof LeaseStore) => void,
): LeaseStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const operation = property as keyof LeaseStore;
      // Called on the store itself: its methods use private fields.
      return (...args: unknown[]) =>
        (value.apply(target, args) as Promise<unknown>).catch((err: unknown) => {
          if (isRedisFailure(err)) count(operation);
          throw err;
        });
    },
  });
}

/** The Redis store turns an outage into `store_unavailable` and passes other replies through. */
function isRedisFailure(err: unknown): boolean {
  if (err instanceof BrokerError) return err.code === 'store_unavailable';
  return err instanceof Error && err.name === 'ReplyError';
}
