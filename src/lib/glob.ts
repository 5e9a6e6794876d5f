/**
 * Glob patterns for subjects and names. `*` matches a run of characters that contains no
 * separator (one `:`/`/` segment of `system:serviceaccount:ns:name` or `repo:org/name`), `**`
 * matches anything. Every other character is literal, so a `.` or `+` in a subject can never
 * widen what a pattern admits.
 */

const DEFAULT_SEPARATORS = ':/';

function escapeLiteral(char: string): string {
  // `-` is not escaped: outside a class it is literal, and `\-` is a syntax error under `u`.
  return /[\\^$.*+?()[\]{}|/]/.test(char) ? `\\${char}` : char;
}

function escapeInClass(char: string): string {
  return /[\\\]^-]/.test(char) ? `\\${char}` : char;
}

export function globToRegExp(pattern: string, separators: string = DEFAULT_SEPARATORS): RegExp {
  const oneSegment =
    separators === '' ? '[\\s\\S]*' : `[^${[...separators].map(escapeInClass).join('')}]*`;
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? '';
    if (char === '*' && pattern[i + 1] === '*') {
      source += '[\\s\\S]*';
      i++;
    } else if (char === '*') {
      source += oneSegment;
    } else {
      source += escapeLiteral(char);
    }
  }
  return new RegExp(`^${source}$`, 'u');
}

export function matchesGlob(
  pattern: string,
  value: string,
  separators: string = DEFAULT_SEPARATORS,
): boolean {
  return globToRegExp(pattern, separators).test(value);
}
