import { lookup } from 'node:dns/promises';
import { canonicalHost, type HostPort, interfaceAddresses, numericAddress } from './endpoint.js';

/** Every address a name resolves to (A and AAAA). */
export type LookupAll = (host: string) => Promise<readonly string[]>;

/** The system resolver, as a connection would use it: `/etc/hosts`, then DNS. */
export const systemLookup: LookupAll = async (host) =>
  (await lookup(host, { all: true })).map((entry) => entry.address);

export interface ResolvedNode {
  /** Where a connection to the node may go: exactly the addresses checked. */
  addresses: readonly string[];
  /** The lease-store endpoint the node turned out to be, when it is one. */
  ownStore?: HostPort;
}

/**
 * Resolves a node's host and every lease-store host now, and says whether they meet: same
 * port, and an address in common, where every address of this machine counts as one
 * (`canonicalHost`). A name is looked up again at each call, so a record that moved onto the
 * lease store since the last connection is caught. A lookup that fails throws: a lease
 * store that cannot be resolved cannot be told apart, and no connection is made.
 */
export async function resolveNode(
  node: HostPort,
  ownStores: readonly HostPort[],
  lookupAll: LookupAll = systemLookup,
  interfaces: ReadonlySet<string> = interfaceAddresses(),
): Promise<ResolvedNode> {
  const addresses = await addressesOf(node.host, lookupAll);
  const nodeHosts = hostsOf(node.host, addresses, interfaces);
  for (const store of ownStores) {
    if (store.port !== node.port) continue;
    let storeAddresses: readonly string[];
    try {
      storeAddresses = await addressesOf(store.host, lookupAll);
    } catch (err) {
      throw new Error(
        `the lease store host ${store.host} does not resolve (${(err as Error).message}): no way to tell ${node.host} from it`,
      );
    }
    const storeHosts = hostsOf(store.host, storeAddresses, interfaces);
    if ([...storeHosts].some((host) => nodeHosts.has(host))) return { addresses, ownStore: store };
  }
  return { addresses };
}

/** A numeric host is its own address; a name is what the resolver says now. */
async function addressesOf(host: string, lookupAll: LookupAll): Promise<readonly string[]> {
  const numeric = numericAddress(host);
  if (numeric !== undefined) return [numeric];
  const resolved: string[] = [];
  for (const address of await lookupAll(host)) {
    resolved.push(numericAddress(address) ?? address);
  }
  if (resolved.length === 0) throw new Error(`${host} resolves to no address`);
  return resolved;
}

/** The spellings a host compares by: its own name, and every address it resolved to. */
function hostsOf(
  host: string,
  addresses: readonly string[],
  interfaces: ReadonlySet<string>,
): Set<string> {
  return new Set([host, ...addresses].map((entry) => canonicalHost(entry, interfaces)));
}
