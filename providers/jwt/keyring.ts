import type { KeyObject } from 'node:crypto';
import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose';
import type { JwtKeyConfig } from './config.js';
import {
  type JwtAlgorithm,
  type PublicJwk,
  publicJwkOf,
  readPrivateKey,
} from './lib/signing-key.js';

/** Publication order: verifiers try the signing key first. */
const PUBLISHED_ORDER = ['active', 'next', 'retired'] as const;

/**
 * The signing keys of one `jwt` target. Only the active key signs. The next key is published
 * before it signs, so every resource server has it cached when it is promoted; a retired key
 * stays published so the tokens it signed keep verifying until they expire.
 */
export class Keyring {
  readonly algorithm: JwtAlgorithm;
  readonly activeKid: string;
  readonly #signingKey: KeyObject;
  readonly #published: readonly PublicJwk[];
  /** Verifies against exactly the published set, as an offline resource server would. */
  readonly verificationKeys: JWTVerifyGetKey;

  constructor(target: string, algorithm: JwtAlgorithm, keys: readonly JwtKeyConfig[]) {
    const active = keys.filter((key) => key.state === 'active');
    const [signing] = active;
    if (signing === undefined || active.length !== 1) {
      throw new TypeError(
        `jwt target "${target}": exactly one key must be active (found ${active.length})`,
      );
    }
    const kids = new Set(keys.map((key) => key.kid));
    if (kids.size !== keys.length) throw new TypeError(`jwt target "${target}": duplicate kid`);

    const loaded = keys.map((key) => {
      try {
        return { config: key, key: readPrivateKey(key.private_key, algorithm) };
      } catch (err) {
        throw new TypeError(`jwt target "${target}", key "${key.kid}": ${(err as Error).message}`);
      }
    });
    this.algorithm = algorithm;
    this.activeKid = signing.kid;
    this.#signingKey = loaded.find((entry) => entry.config.kid === signing.kid)!.key;
    this.#published = PUBLISHED_ORDER.flatMap((state) =>
      loaded
        .filter((entry) => entry.config.state === state)
        .map((entry) => publicJwkOf(entry.key, entry.config.kid, algorithm)),
    );
    this.verificationKeys = createLocalJWKSet({ keys: this.publicJwks() });
  }

  /** The JWKS members of this target: fresh copies, so callers cannot alter the ring. */
  publicJwks(): PublicJwk[] {
    return this.#published.map((jwk) => ({ ...jwk }));
  }

  signingKey(): { kid: string; key: KeyObject } {
    return { kid: this.activeKid, key: this.#signingKey };
  }
}
