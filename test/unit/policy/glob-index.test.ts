import { describe, expect, it } from 'vitest';
import { compileGlob } from '../../../src/policy/lib/glob.js';

describe('policy globs', () => {
  const cases: [pattern: string, value: string, matches: boolean][] = [
    ['read_*', 'read_file', true],
    ['read_*', 'read_', true],
    ['read_*', 'write_file', false],
    ['read_*', 'xread_file', false],
    ['*_file', 'read_file', true],
    ['read_?ile', 'read_file', true],
    ['read_?ile', 'read_fiile', false],
    // Regex metacharacters mean themselves.
    ['read.file', 'read.file', true],
    ['read.file', 'readXfile', false],
    ['a+b', 'aab', false],
    ['a+b', 'a+b', true],
    ['(x|y)', 'x', false],
    ['[ab]', 'a', false],
    ['^admin$', '^admin$', true],
    // Anchored at both ends, also across a newline.
    ['agents-*', 'agents-a\nroot', true],
    ['agents-?', 'agents-a\nroot', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
  ];
  for (const [pattern, value, matches] of cases) {
    it(`${JSON.stringify(pattern)} ${matches ? 'matches' : 'does not match'} ${JSON.stringify(value)}`, () => {
      expect(compileGlob(pattern)(value)).toBe(matches);
    });
  }
});
