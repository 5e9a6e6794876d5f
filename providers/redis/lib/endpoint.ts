import { isIP } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

const LOOPBACK = 'loopback';

/**
 * A host in a form two spellings of one machine share: lower case, no IPv6 brackets or
 * trailing dot, and every loopback spelling (`localhost`, `127.0.0.0/8`, `::1`, the
 * IPv4-mapped `::ffff:127.0.0.1`) as one. DNS aliases are not resolved: config that reaches
 * the lease store through another name is caught only by the admin user's ACL.
 */
export function canonicalHost(host: string): string {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === 'localhost' || name.endsWith('.localhost')) return LOOPBACK;
  const mapped = name.startsWith('::ffff:') ? name.slice('::ffff:'.length) : name;
  if (isIP(mapped) === 4 && mapped.startsWith('127.')) return LOOPBACK;
  if (isIP(name) === 6 && /^(0{0,4}:){1,7}0{0,3}1$|^::1$/.test(name)) return LOOPBACK;
  return name;
}

export function sameEndpoint(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && canonicalHost(a.host) === canonicalHost(b.host);
}
