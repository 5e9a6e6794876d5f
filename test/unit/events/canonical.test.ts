import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../../src/events/canonical.js';

describe('canonicalize', () => {
  it('sorts object keys at every depth and adds no whitespace', () => {
    expect(canonicalize({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it('does not depend on insertion order', () => {
    const one = { type: 'lease.revoked', seq: 3, detail: { x: 1, y: 2 } };
    const two = { detail: { y: 2, x: 1 }, seq: 3, type: 'lease.revoked' };
    expect(canonicalize(one)).toBe(canonicalize(two));
  });

  it('sorts keys by UTF-16 code units, as RFC 8785 does', () => {
    // U+00E9 (é) sorts after 'z'; an uppercase letter before any lowercase one.
    expect(canonicalize({ é: 1, z: 2, A: 3, a: 4 })).toBe('{"A":3,"a":4,"z":2,"é":1}');
  });

  it('omits undefined members and keeps array order', () => {
    expect(canonicalize({ a: undefined, b: [2, 1] })).toBe('{"b":[2,1]}');
  });

  it('serialises numbers and strings the ECMAScript way', () => {
    expect(canonicalize([0.1, 1e21, -0, 10, 'a"b\\c\n', '\u2028'])).toBe(
      '[0.1,1e+21,0,10,"a\\"b\\\\c\\n","\u2028"]',
    );
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['bigint', 1n],
    ['function', () => 1],
    ['undefined at the top', undefined],
    ['undefined in an array', [1, undefined]],
  ])('rejects %s', (_label, value) => {
    expect(() => canonicalize(value)).toThrow(TypeError);
  });

  it('gives the same bytes whether or not members already come in canonical order', () => {
    // Ordered input takes the JSON.stringify path; the rest the general one.
    const ordered = { a: [1, { b: 'x', c: null }], d: { e: true }, f: 'é\u2028' };
    const shuffled = { f: 'é\u2028', d: { e: true }, a: [1, { c: null, b: 'x' }] };
    expect(canonicalize(ordered)).toBe('{"a":[1,{"b":"x","c":null}],"d":{"e":true},"f":"é\u2028"}');
    expect(canonicalize(shuffled)).toBe(canonicalize(ordered));
  });

  it('sorts integer-like keys as strings, not the way the engine enumerates them', () => {
    expect(canonicalize({ 2: 'two', 10: 'ten' })).toBe('{"10":"ten","2":"two"}');
    expect(canonicalize({ a: { 1: 'x', 2: 'y' } })).toBe('{"a":{"1":"x","2":"y"}}');
  });

  it('does not let a toJSON or a non-JSON value through the ordered path', () => {
    expect(canonicalize({ a: new Date(0) })).toBe('{"a":{}}');
    expect(() => canonicalize({ a: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalize({ a: [undefined] })).toThrow(TypeError);
    expect(() => canonicalize({ a: 1n })).toThrow(TypeError);
    const own = JSON.parse('{"__proto__":{"x":1},"a":1}') as unknown;
    expect(canonicalize(own)).toBe('{"__proto__":{"x":1},"a":1}');
  });

  it('rejects cycles but accepts shared, non-circular references', () => {
    const shared = { k: 1 };
    expect(canonicalize({ a: shared, b: shared })).toBe('{"a":{"k":1},"b":{"k":1}}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalize(cyclic)).toThrow(/circular/);
  });
});
