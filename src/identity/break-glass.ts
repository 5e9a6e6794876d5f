import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { BreakGlassConfig } from '../config/schema.js';
import type { FailureLimiter } from './failure-limiter.js';
import { sha256Hex } from './token-hash.js';
import { AuthError, type OperatorPrincipal } from './types.js';

export const BREAK_GLASS_PREFIX = 'jbg_';
const TOKEN_FORMAT = /^jbg_[A-Za-z0-9_-]{43}$/;

/** 256 random bits; config keeps only the hash, so a leaked config file admits nobody. */
export function generateBreakGlassToken(): { token: string; hash: string } {
  const token = `${BREAK_GLASS_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, hash: `sha256:${sha256Hex(token)}` };
}

interface StoredEntry {
  readonly entry: BreakGlassConfig;
  readonly digest: Buffer;
  readonly expiresAt: number;
}

/**
 * Checks break-glass tokens. The offered token's hash is compared with every entry in
 * constant time and without stopping at a match, so timing reveals neither whether nor
 * which entry matched. The right token is always accepted: a limit that refused before
 * comparing would let anyone lock the on-call engineer out with ten guesses from the same
 * address (or from behind the same proxy). Failures are counted per source; past the limit
 * they are refused as `break_glass_limited`, which the API answers 429 with `Retry-After`.
 */
export class BreakGlassVerifier {
  readonly #entries: readonly StoredEntry[];
  readonly #limiter: FailureLimiter;
  readonly #now: () => number;

  constructor(entries: readonly BreakGlassConfig[], limiter: FailureLimiter, now: () => number) {
    this.#entries = entries.map((entry) => {
      const expiresAt = Date.parse(entry.expires_at);
      if (!/^sha256:[0-9a-f]{64}$/.test(entry.hash) || Number.isNaN(expiresAt)) {
        throw new TypeError(`break-glass entry ${entry.name}: bad hash or expires_at`);
      }
      return { entry, digest: Buffer.from(entry.hash.slice('sha256:'.length), 'hex'), expiresAt };
    });
    this.#limiter = limiter;
    this.#now = now;
  }

  verify(token: string, source: string): OperatorPrincipal {
    const tokenHash = sha256Hex(token);
    const offered = Buffer.from(tokenHash, 'hex');
    const now = this.#now();
    let found: StoredEntry | undefined;
    for (const stored of this.#entries) {
      const equal = timingSafeEqual(offered, stored.digest);
      if (equal && stored.expiresAt > now && found === undefined) found = stored;
    }
    if (found !== undefined && TOKEN_FORMAT.test(token)) {
      return {
        kind: 'operator',
        name: found.entry.name,
        roles: [found.entry.role],
        via: 'break_glass',
        tokenHash,
        expiresAt: found.expiresAt,
      };
    }
    const limited = this.#limiter.isLimited(source);
    this.#limiter.recordFailure(source);
    if (limited) {
      throw new AuthError(
        'break_glass_limited',
        'too many failed break-glass attempts from this source',
        { tokenHash },
      );
    }
    throw new AuthError('break_glass_invalid', 'the break-glass token is invalid or expired', {
      tokenHash,
    });
  }
}
