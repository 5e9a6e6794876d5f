/**
 * Glob patterns for subjects and names. `*` matches a run of characters that contains no
 * separator (one `:`/`/` segment of `system:serviceaccount:ns:name` or `repo:org/name`), `**`
 * matches anything. Every other character is literal, so a `.` or `+` in a subject can never
 * widen what a pattern admits.
 *
 * Matching runs the pattern as a set of positions advanced one character at a time, so it
 * costs at most (value length × pattern length) steps whatever the input: a backtracking
 * regular expression for `******…!` takes exponential time on a value that almost matches,
 * and patterns reach the API from callers (the selector revoke takes 512 characters).
 */

const DEFAULT_SEPARATORS = ':/';

type Token =
  | { readonly kind: 'literal'; readonly char: string }
  | { readonly kind: 'star'; readonly crossesSeparators: boolean };

export interface Glob {
  readonly pattern: string;
  test(value: string): boolean;
}

function tokenize(pattern: string): Token[] {
  const chars = [...pattern];
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i] ?? '';
    if (char !== '*') {
      tokens.push({ kind: 'literal', char });
      continue;
    }
    const crossesSeparators = chars[i + 1] === '*';
    if (crossesSeparators) i++;
    const previous = tokens.at(-1);
    // Adjacent stars match what the widest of them matches; merging keeps the state set small.
    if (previous?.kind === 'star') {
      if (crossesSeparators && !previous.crossesSeparators)
        tokens[tokens.length - 1] = { kind: 'star', crossesSeparators };
      continue;
    }
    tokens.push({ kind: 'star', crossesSeparators });
  }
  return tokens;
}

export function compileGlob(pattern: string, separators: string = DEFAULT_SEPARATORS): Glob {
  const tokens = tokenize(pattern);
  const separatorSet = new Set(separators);
  const accept = tokens.length;

  /** Adds `position` and every position a star there can skip to (a star matches nothing). */
  const add = (states: Uint8Array, position: number): void => {
    let at = position;
    while (at <= accept && states[at] === 0) {
      states[at] = 1;
      if (tokens[at]?.kind !== 'star') break;
      at++;
    }
  };

  return {
    pattern,
    test(value: string): boolean {
      let current = new Uint8Array(accept + 1);
      add(current, 0);
      for (const char of value) {
        const next = new Uint8Array(accept + 1);
        let alive = false;
        for (let at = 0; at < accept; at++) {
          if (current[at] === 0) continue;
          const token = tokens[at];
          if (token?.kind === 'literal') {
            if (token.char === char) {
              add(next, at + 1);
              alive = true;
            }
          } else if (token && (token.crossesSeparators || !separatorSet.has(char))) {
            add(next, at);
            alive = true;
          }
        }
        if (!alive) return false;
        current = next;
      }
      return current[accept] === 1;
    },
  };
}

export function matchesGlob(
  pattern: string,
  value: string,
  separators: string = DEFAULT_SEPARATORS,
): boolean {
  return compileGlob(pattern, separators).test(value);
}
