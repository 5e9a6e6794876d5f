import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

export interface HostPort {
  host: string;
  port: number;
}

/** What every spelling of this machine comes to: a server here listens on all of them. */
export const THIS_HOST = 'this host';

/** `::ffff:a.b.c.d` as the WHATWG serializer writes it: the IPv4 address in two groups. */
const IPV4_MAPPED = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * The address a numeric host stands for, in one canonical text (dotted IPv4, compressed
 * lower-case IPv6, IPv4-mapped IPv6 as its IPv4), or `undefined` for a name.
 *
 * IPv4 goes through the WHATWG URL host parser, which reads every form `inet_aton` — and so
 * `getaddrinfo`, which ioredis's connection ends in — accepts: `127.1`, `2130706433`,
 * `0x7f.1`, octal `0177.0.0.1` (a leading zero is octal: `010.0.0.9` is 8.0.0.9), a trailing
 * dot. Anything with a `:` must be IPv6 (`127.0.0.1:6379` is not a host).
 */
export function numericAddress(host: string): string | undefined {
  const bare = host.trim().replace(/^\[(.*)\]$/, '$1');
  if (bare === '') return undefined;
  if (bare.includes(':')) {
    if (isIP(bare) !== 6) return undefined;
    let v6: string;
    try {
      v6 = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
    } catch {
      // A zone id (`fe80::1%eth0`) has no URL form; it only ever names a link-local address.
      return bare.toLowerCase();
    }
    const mapped = IPV4_MAPPED.exec(v6);
    if (mapped === null) return v6;
    const high = Number.parseInt(mapped[1] ?? '0', 16);
    const low = Number.parseInt(mapped[2] ?? '0', 16);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  try {
    const { hostname } = new URL(`http://${bare}/`);
    return isIP(hostname) === 4 ? hostname : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a connection to `address` stays on this machine: loopback (127.0.0.0/8, `::1`),
 * "this host on this network" (0.0.0.0/8, RFC 1122 §3.2.1.3; `::`, RFC 4291 §2.5.2 — Linux
 * connects both to itself), or one of this machine's own interface addresses. A Redis
 * bound to all interfaces answers on every one of them.
 */
function isThisHost(address: string, interfaces: ReadonlySet<string>): boolean {
  if (isIP(address) === 4) {
    const first = address.slice(0, address.indexOf('.'));
    if (first === '127' || first === '0') return true;
  } else if (address === '::1' || address === '::') {
    return true;
  }
  return interfaces.has(address);
}

/** The canonical addresses of this machine's network interfaces, read now (DHCP moves them). */
export function interfaceAddresses(): ReadonlySet<string> {
  const addresses = new Set<string>();
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      const address = numericAddress(entry.address);
      if (address !== undefined) addresses.add(address);
    }
  }
  return addresses;
}

/**
 * A host in a form two spellings of one server share: every spelling of this machine (the
 * `localhost` names, which RFC 6761 §6.3 reserves for loopback, and every local address
 * above) is `THIS_HOST`, any other numeric host its canonical address, a name lower case
 * without a trailing dot. Names are not resolved here: `resolveNode` does that before every
 * connection.
 */
export function canonicalHost(
  host: string,
  interfaces: ReadonlySet<string> = interfaceAddresses(),
): string {
  const address = numericAddress(host);
  if (address !== undefined) return isThisHost(address, interfaces) ? THIS_HOST : address;
  const name = host.trim().toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') ? THIS_HOST : name;
}

export function sameEndpoint(
  a: HostPort,
  b: HostPort,
  interfaces: ReadonlySet<string> = interfaceAddresses(),
): boolean {
  return (
    a.port === b.port && canonicalHost(a.host, interfaces) === canonicalHost(b.host, interfaces)
  );
}
