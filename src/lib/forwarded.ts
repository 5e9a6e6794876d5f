import { BlockList, isIP } from 'node:net';

/** `trust_proxy` as configured: off, a number of proxy hops, or the proxies' addresses. */
export type ProxyTrust = boolean | number | readonly string[];

/** The client's address from the connection's peer and `X-Forwarded-For`. */
export type ClientAddress = (
  peer: string | undefined,
  forwarded: string | undefined,
) => string | undefined;

/** Entries read from one header: a longer list is a client stuffing it, not a proxy chain. */
const MAX_ENTRIES = 64;

/**
 * Which address the broker believes is the client's. Each reverse proxy appends the address
 * it received the request from, so only the right-most entries were written by proxies the
 * operator runs; everything to their left may be the client's own invention. The client is
 * therefore the right-most address that is not one of the trusted proxies: with a hop count,
 * the entry that many places from the peer; with a list, the first address (from the right)
 * not in it. Taking the first entry instead would let any client choose its own address
 * (for `request.ip` in policy conditions, for the audit trail, for the break-glass limit).
 */
export function clientAddressFrom(trust: ProxyTrust): ClientAddress {
  // The same spelling whatever the listener: `::ffff:a.b.c.d` from a dual-stack socket is
  // `a.b.c.d`, as it is behind a proxy, so `request.ip` conditions match either way.
  if (trust === false) return (peer) => (peer === undefined ? undefined : normalise(peer));
  if (trust === true || typeof trust === 'number') {
    const hops = trust === true ? 1 : trust;
    return (peer, forwarded) => {
      const chain = [...entries(forwarded), ...(peer === undefined ? [] : [normalise(peer)])];
      return chain[Math.max(0, chain.length - 1 - hops)];
    };
  }
  const proxies = proxyList(trust);
  return (peer, forwarded) => {
    if (peer === undefined) return undefined;
    const chain = [...entries(forwarded), normalise(peer)];
    for (let i = chain.length - 1; i >= 0; i--) {
      const address = chain[i] as string;
      if (!isTrusted(proxies, address)) return address;
    }
    return chain[0];
  };
}

/** Addresses and CIDR ranges of trusted proxies; throws a TypeError naming a bad entry. */
export function proxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0)
      throw new TypeError(`not an address or CIDR range: ${entry}`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const bits = Number(prefix);
    if (!/^\d{1,3}$/.test(prefix) || bits > (family === 4 ? 32 : 128)) {
      throw new TypeError(`bad prefix length: ${entry}`);
    }
    list.addSubnet(address, bits, type);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function entries(header: string | undefined): string[] {
  if (header === undefined) return [];
  const parts = header.split(',');
  return parts.slice(Math.max(0, parts.length - MAX_ENTRIES)).map((part) => normalise(part.trim()));
}

/** `1.2.3.4:5678`, `[::1]:80` and `::ffff:1.2.3.4` as the bare address; anything else as is. */
function normalise(value: string): string {
  let address = value;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed?.[1] !== undefined) address = bracketed[1];
  else if (/^[\d.]+:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) address = mapped[1];
  return address.slice(0, 64);
}
