import { describe, expect, it } from 'vitest';
import { clientAddressFrom, proxyList } from '../../../src/lib/forwarded.js';

describe('the client address behind proxies', () => {
  it('without trust, the peer, whatever X-Forwarded-For says', () => {
    expect(clientAddressFrom(false)('10.0.0.5', '203.0.113.9')).toBe('10.0.0.5');
    // A dual-stack socket's IPv4-mapped peer reads as the IPv4 address a policy names.
    expect(clientAddressFrom(false)('::ffff:10.0.0.5', undefined)).toBe('10.0.0.5');
  });

  it('with a hop count, the entry that many places left of the peer, never a client-written one', () => {
    const one = clientAddressFrom(1);
    // The client wrote 6.6.6.6; the proxy appended the address it saw.
    expect(one('10.0.0.5', '6.6.6.6, 203.0.113.9')).toBe('203.0.113.9');
    expect(one('10.0.0.5', '203.0.113.9')).toBe('203.0.113.9');
    expect(clientAddressFrom(true)('10.0.0.5', '6.6.6.6, 203.0.113.9')).toBe('203.0.113.9');
    const two = clientAddressFrom(2);
    expect(two('10.0.0.6', '6.6.6.6, 203.0.113.9, 10.0.0.5')).toBe('203.0.113.9');
    // Fewer entries than hops: the left-most there is (a request that bypassed a proxy).
    expect(two('10.0.0.6', undefined)).toBe('10.0.0.6');
  });

  it('with a proxy list, the right-most address that is not a trusted proxy', () => {
    const listed = clientAddressFrom(['10.0.0.0/8', '192.0.2.1', 'fd00::/8']);
    expect(listed('10.1.2.3', '6.6.6.6, 203.0.113.9, 192.0.2.1')).toBe('203.0.113.9');
    expect(listed('fd00::1', '6.6.6.6, 2001:db8::7')).toBe('2001:db8::7');
    // A peer that is no trusted proxy is the client itself: its header is its own word.
    expect(listed('198.51.100.4', '6.6.6.6')).toBe('198.51.100.4');
    // Everything trusted: the left-most.
    expect(listed('10.0.0.1', '10.0.0.2')).toBe('10.0.0.2');
  });

  it('reads ports, brackets and IPv4-mapped IPv6 as the bare address', () => {
    const listed = clientAddressFrom(['127.0.0.1']);
    expect(listed('::ffff:127.0.0.1', '203.0.113.9:4711')).toBe('203.0.113.9');
    expect(listed('127.0.0.1', '[2001:db8::1]:443')).toBe('2001:db8::1');
  });

  it('reads at most 64 entries of a stuffed header', () => {
    const stuffed = Array.from({ length: 10_000 }, () => '10.0.0.1').join(', ');
    expect(clientAddressFrom(['10.0.0.0/8'])('10.0.0.1', `6.6.6.6, ${stuffed}`)).toBe('10.0.0.1');
  });

  it('refuses a proxy entry that is neither an address nor a CIDR range', () => {
    expect(() => proxyList(['10.0.0.0/33'])).toThrow(/prefix/);
    expect(() => proxyList(['proxy.internal'])).toThrow(/not an address/);
    expect(() => proxyList(['10.0.0.0/8/1'])).toThrow(/not an address/);
  });
});
