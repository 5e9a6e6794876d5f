import { describe, expect, it } from 'vitest';
import { globToRegExp, matchesGlob } from '../../../src/lib/glob.js';

describe('globToRegExp', () => {
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

  it('returns an anchored RegExp', () => {
    const re = globToRegExp('x*');
    expect(re.source.startsWith('^')).toBe(true);
    expect(re.source.endsWith('$')).toBe(true);
  });
});
