import { describe, expect, it } from 'vitest';
import {
  canonicalHost,
  numericAddress,
  sameEndpoint,
  THIS_HOST,
} from '../../../providers/redis/lib/endpoint.js';
import { type LookupAll, resolveNode } from '../../../providers/redis/lib/own-store.js';

/*
 * A `redis` target must never be the broker's own lease store, however it is spelled. The
 * comparison is by address, as the kernel would connect: every numeric spelling a resolver
 * accepts, IPv4-mapped IPv6, and "this host" (loopback, unspecified, this machine's own
 * interface addresses) as one.
 */

const NO_INTERFACES: ReadonlySet<string> = new Set();

describe('numericAddress: the address a numeric spelling stands for', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['127.000.000.001', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'],
    ['0X7F000001', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['10.9', '10.0.0.9'],
    ['167772169', '10.0.0.9'],
    // A leading zero is octal, for WHATWG URL and inet_aton alike.
    ['010.0.0.9', '8.0.0.9'],
    ['::1', '::1'],
    ['[::1]', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['[0000::0001]', '::1'],
    ['::', '::'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['[::FFFF:7F00:1]', '127.0.0.1'],
    ['0:0:0:0:0:ffff:7f00:0001', '127.0.0.1'],
    ['::ffff:0.0.0.0', '0.0.0.0'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
  ])('%s is %s', (host, address) => {
    expect(numericAddress(host)).toBe(address);
  });

  it.each([
    'redis.internal',
    'localhost',
    '4294967296',
    '127.0.0.1:6379',
    '1.2.3.4.5',
    '::ffff:127.1',
    '',
  ])('%s is not numeric', (host) => {
    expect(numericAddress(host)).toBeUndefined();
  });
});

describe('sameEndpoint: every spelling of the loopback lease store', () => {
  const LOCAL_SPELLINGS = [
    '127.0.0.1',
    '127.1',
    '2130706433',
    '127.000.000.001',
    '0177.0.0.1',
    '0x7f.1',
    '127.0.0.1.',
    '127.255.255.254',
    '0.0.0.0',
    '0',
    'localhost',
    'LocalHost.',
    'cache.localhost',
    '::1',
    '[::1]',
    '0:0:0:0:0:0:0:1',
    '::',
    '[::]',
    '::ffff:127.0.0.1',
    '[::ffff:7f00:1]',
    '::ffff:0.0.0.0',
  ];

  it.each(LOCAL_SPELLINGS)('%s is this host', (host) => {
    expect(canonicalHost(host, NO_INTERFACES)).toBe(THIS_HOST);
  });

  it.each(
    ['127.0.0.1', '0.0.0.0', 'localhost', '::1', '::'].flatMap((store) =>
      LOCAL_SPELLINGS.map((target) => [store, target]),
    ),
  )('a lease store on %s is a target on %s', (store, target) => {
    expect(
      sameEndpoint({ host: store, port: 6379 }, { host: target, port: 6379 }, NO_INTERFACES),
    ).toBe(true);
  });

  it("this machine's own interface addresses are this host too", () => {
    const interfaces = new Set(['192.0.2.10', 'fe80::1']);
    expect(canonicalHost('192.0.2.10', interfaces)).toBe(THIS_HOST);
    expect(canonicalHost('::ffff:192.0.2.10', interfaces)).toBe(THIS_HOST);
    expect(
      sameEndpoint(
        { host: '127.0.0.1', port: 6379 },
        { host: '192.0.2.10', port: 6379 },
        interfaces,
      ),
    ).toBe(true);
    expect(canonicalHost('192.0.2.11', interfaces)).toBe('192.0.2.11');
  });

  it('compares other hosts by address, and ports as numbers', () => {
    const same = (a: string, b: string, portB = 6379) =>
      sameEndpoint({ host: a, port: 6379 }, { host: b, port: portB }, NO_INTERFACES);
    expect(same('10.0.0.9', '10.9')).toBe(true);
    expect(same('10.0.0.9', '167772169')).toBe(true);
    expect(same('10.0.0.9', '::ffff:10.0.0.9')).toBe(true);
    expect(same('2001:db8::1', '[2001:DB8:0:0:0:0:0:1]')).toBe(true);
    expect(same('Redis.Internal.', 'redis.internal')).toBe(true);

    expect(same('127.0.0.1', '127.1', 6380)).toBe(false);
    expect(same('10.0.0.9', '010.0.0.9')).toBe(false);
    expect(same('127.0.0.1', '128.0.0.1')).toBe(false);
    expect(same('127.0.0.1', '1.0.0.127')).toBe(false);
    expect(same('::1', '::2')).toBe(false);
    expect(same('a.internal', 'b.internal')).toBe(false);
  });
});

/** A resolver answering from a table that a test may change between calls. */
function resolver(table: Record<string, readonly string[]>): LookupAll & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (host: string) => {
    calls.push(host);
    const answer = table[host];
    if (answer === undefined) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    }
    return answer;
  };
  return Object.assign(lookup, { calls });
}

describe('resolveNode: by resolved address, right before each connection', () => {
  const STORE = [{ host: '127.0.0.1', port: 6379 }];

  it.each([
    ['an A record on loopback', ['127.0.0.1']],
    ['another loopback address', ['127.0.1.1']],
    ['an AAAA record on loopback', ['::1']],
    ['an IPv4-mapped AAAA record', ['::ffff:127.0.0.1']],
    ['the unspecified address', ['0.0.0.0']],
    ['one loopback record among others', ['198.51.100.7', '127.0.0.1']],
  ])('finds the lease store behind a name with %s', async (_, addresses) => {
    const lookup = resolver({ 'cache.internal': addresses });
    const resolved = await resolveNode(
      { host: 'cache.internal', port: 6379 },
      STORE,
      lookup,
      NO_INTERFACES,
    );
    expect(resolved.ownStore).toEqual(STORE[0]);
  });

  it('resolves the lease store by name too, and answers the addresses it checked', async () => {
    const lookup = resolver({ 'redis.internal': ['10.0.0.9'], 'cache.internal': ['10.0.0.10'] });
    const store = [{ host: 'redis.internal', port: 6379 }];
    const fine = await resolveNode(
      { host: 'cache.internal', port: 6379 },
      store,
      lookup,
      NO_INTERFACES,
    );
    expect(fine).toEqual({ addresses: ['10.0.0.10'] });
    expect(lookup.calls.sort()).toEqual(['cache.internal', 'redis.internal']);

    const alias = await resolveNode({ host: '10.9', port: 6379 }, store, lookup, NO_INTERFACES);
    expect(alias.ownStore).toEqual(store[0]);
    expect(alias.addresses).toEqual(['10.0.0.9']);
  });

  it('sees a name that moved onto the lease store since the last connection', async () => {
    const table: Record<string, readonly string[]> = { 'cache.internal': ['10.0.0.10'] };
    const lookup = resolver(table);
    const node = { host: 'cache.internal', port: 6379 };
    expect((await resolveNode(node, STORE, lookup, NO_INTERFACES)).ownStore).toBeUndefined();
    table['cache.internal'] = ['127.0.0.1'];
    expect((await resolveNode(node, STORE, lookup, NO_INTERFACES)).ownStore).toEqual(STORE[0]);
  });

  it('does not guess when a name does not resolve: the connection is not made', async () => {
    const lookup = resolver({ 'cache.internal': ['10.0.0.10'] });
    await expect(
      resolveNode(
        { host: 'cache.internal', port: 6379 },
        [{ host: 'gone.internal', port: 6379 }],
        lookup,
      ),
    ).rejects.toThrow(/gone\.internal/);
    await expect(
      resolveNode({ host: 'nowhere.internal', port: 6379 }, STORE, lookup),
    ).rejects.toThrow(/ENOTFOUND/);
  });

  it('another port of the same host is not the lease store', async () => {
    const lookup = resolver({ 'cache.internal': ['127.0.0.1'] });
    const resolved = await resolveNode(
      { host: 'cache.internal', port: 6380 },
      STORE,
      lookup,
      NO_INTERFACES,
    );
    expect(resolved).toEqual({ addresses: ['127.0.0.1'] });
  });
});
