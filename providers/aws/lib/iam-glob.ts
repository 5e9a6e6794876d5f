/**
 * IAM's wildcards: `*` matches any run of characters (`/` and `:` included), `?` exactly one;
 * everything else is literal. Both functions walk position sets, so their cost is bounded by
 * the product of the lengths, whatever the input (no backtracking).
 */

export interface IamGlob {
  test(value: string): boolean;
}

export function iamGlob(pattern: string): IamGlob {
  const tokens = [...pattern];
  return {
    test(value) {
      let states = closure(tokens, new Set([0]));
      for (const char of value) {
        const next = new Set<number>();
        for (const at of states) {
          const token = tokens[at];
          if (token === '*') next.add(at);
          else if (token === '?' || token === char) next.add(at + 1);
        }
        states = closure(tokens, next);
        if (states.size === 0) return false;
      }
      return states.has(tokens.length);
    },
  };
}

/** A `*` may match nothing: a state before it is also a state after it. */
function closure(tokens: readonly string[], states: Set<number>): Set<number> {
  for (const at of [...states]) {
    let i = at;
    while (tokens[i] === '*') states.add(++i);
  }
  return states;
}

/**
 * Whether every string `inner` matches is matched by `outer`: a `*` of `inner` can only be
 * covered by a `*` of `outer`, a `?` by a `?` or a `*`, a literal by itself or a wildcard.
 */
export function patternCovers(outer: string, inner: string): boolean {
  const o = [...outer];
  const n = [...inner];
  // reach[j]: outer[0..j) can cover inner[0..i) for the current i.
  let reach = new Array<boolean>(o.length + 1).fill(false);
  reach[0] = true;
  for (let j = 0; j < o.length && o[j] === '*'; j++) reach[j + 1] = true;
  for (const token of n) {
    const next = new Array<boolean>(o.length + 1).fill(false);
    for (let j = 0; j < o.length; j++) {
      const symbol = o[j];
      if (!reach[j]) continue;
      if (symbol === '*') next[j] = true;
      else if (symbol === '?' ? token !== '*' : symbol === token && token !== '*' && token !== '?')
        next[j + 1] = true;
    }
    // A star of outer may also match nothing.
    for (let j = 0; j < o.length; j++) if (next[j] && o[j] === '*') next[j + 1] = true;
    reach = next;
  }
  return reach[o.length] === true;
}
