/**
 * Characters no line-oriented collector should receive raw: the C0 controls with DEL and the
 * C1 controls (`\p{Cc}`: NUL, BEL, ESC, CR, LF, TAB, NEL U+0085, CSI U+009B…), the Unicode
 * line and paragraph separators (U+2028, U+2029), and lone surrogates (`\p{Cs}` matches only
 * unpaired halves under the `u` flag). Collectors split records on LF, CR, NEL or the Unicode
 * separators, so one of them in a token's `sub` forges a second record; ESC and the C1
 * controls drive the terminal an analyst reads the log on; a lone surrogate has no UTF-8 form
 * (Unicode §3.9, D92), so an encoder silently substitutes or drops it.
 */
const CONTROL_CHARACTERS = /[\p{Cc}\u2028\u2029\p{Cs}]/gu;

/** U+FFFD: what a decoder shows for a character it could not take; valid UTF-8 everywhere. */
export const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * `text` with every control character (see above) replaced: by `replace(char)`, or by U+FFFD
 * where the format has no escape for it. Paired surrogates (emoji) are kept.
 */
export function replaceControlCharacters(
  text: string,
  replace: (char: string) => string = () => REPLACEMENT_CHARACTER,
): string {
  return text.replace(CONTROL_CHARACTERS, replace);
}

/**
 * JSON text with the control characters `JSON.stringify` leaves raw — DEL, the C1 controls and
 * U+2028/U+2029 (RFC 8259 §7 requires escaping only U+0000–U+001F) — written as `\uXXXX`.
 * Outside strings JSON text holds none of them, so every one is inside a string, and the
 * escape parses back to the same character: the document means exactly what it did, hash
 * chain included. `JSON.stringify` already escapes C0 and lone surrogates (ES2019).
 */
export function escapeControlCharactersInJson(json: string): string {
  return replaceControlCharacters(
    json,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
