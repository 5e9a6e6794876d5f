import { describe, expect, it } from 'vitest';
import { compileGlob, matchesGlob } from '../../../src/lib/glob.js';

describe('globs', () => {
  it('matches one segment with * and anything with **', () => {
    expect(matchesGlob('system:serviceaccount:mcp:*', 'system:serviceaccount:mcp:github')).toBe(
      true,
    );
    expect(matchesGlob('system:serviceaccount:*', 'system:serviceaccount:mcp:github')).toBe(false);
    expect(matchesGlob('system:serviceaccount:**', 'system:serviceaccount:mcp:github')).toBe(true);
    expect(matchesGlob('repo:acme/*', 'repo:acme/app')).toBe(true);
    expect(matchesGlob('repo:acme/*', 'repo:acme/app/sub')).toBe(false);
    expect(matchesGlob('repo:*/app', 'repo:acme/app')).toBe(true);
  });

  it('is anchored at both ends', () => {
    expect(matchesGlob('acme/*', 'evil/acme/app')).toBe(false);
    expect(matchesGlob('acme/app', 'acme/app-evil')).toBe(false);
    expect(matchesGlob('*', '')).toBe(true);
  });

  it('treats every other character literally', () => {
    expect(matchesGlob('a.b', 'axb')).toBe(false);
    expect(matchesGlob('a.b', 'a.b')).toBe(true);
    expect(matchesGlob('a+', 'aa')).toBe(false);
    expect(matchesGlob('(a|b)', 'a')).toBe(false);
    expect(matchesGlob('(a|b)', '(a|b)')).toBe(true);
    expect(matchesGlob('a?c', 'abc')).toBe(false);
    expect(matchesGlob('[ab]-$^{1}\\', '[ab]-$^{1}\\')).toBe(true);
  });

  it('lets ** cross newlines but * not cross separators', () => {
    expect(matchesGlob('a**b', 'a\n/:b')).toBe(true);
    expect(matchesGlob('a*b', 'a:b')).toBe(false);
  });

  it('takes custom separators, including regex-special ones', () => {
    expect(matchesGlob('a*c', 'a.b.c', '.')).toBe(false);
    expect(matchesGlob('a*c', 'a:b/c', '.')).toBe(true);
    expect(matchesGlob('a*c', 'a]c', ']')).toBe(false);
    expect(matchesGlob('a*c', 'a-c', '-')).toBe(false);
    expect(matchesGlob('a*c', 'a/c', '')).toBe(true);
  });

  it('matches in linear time: a pathological pattern against a near miss', () => {
    // A backtracking regular expression does not finish these within the test's timeout.
    const pattern = `${'*'.repeat(19)}!`;
    const value = 'a'.repeat(5000);
    expect(matchesGlob(pattern, value, '')).toBe(false);
    expect(matchesGlob(`${'*'.repeat(255)}!`, `${'a'.repeat(10_000)}`, '')).toBe(false);
    expect(matchesGlob(`${'a*'.repeat(200)}!`, 'a'.repeat(2000), ':')).toBe(false);
    expect(compileGlob(pattern).test(`${'a'.repeat(50)}!`)).toBe(true);
  });

  it('merges runs of stars without changing what they match', () => {
    expect(matchesGlob('a***b', 'a:x/b')).toBe(true);
    expect(matchesGlob('a*b', 'a:x/b')).toBe(false);
    expect(matchesGlob('a**', 'a')).toBe(true);
    expect(matchesGlob('**', '')).toBe(true);
    expect(matchesGlob('a*', 'b')).toBe(false);
  });

  it('matches by character, not by UTF-16 unit', () => {
    expect(matchesGlob('a*c', 'a😀c')).toBe(true);
    expect(matchesGlob('😀', '😀')).toBe(true);
    expect(matchesGlob('😀', '\ud83d')).toBe(false);
  });
});
