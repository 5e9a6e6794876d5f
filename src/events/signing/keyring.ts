import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ConfigError } from '../../config/load.js';
import type { AuditKeyConfig, AuditKeyState } from './config.js';
import { readAuditSigningConfig } from './config.js';
import { type AuditPublicJwk, auditJwkOf, ed25519X, jwkThumbprint } from './jwk.js';
import { readAuditPrivateKey, readAuditPublicKey } from './read-key.js';

/**
 * Where the chain's signing key comes from: the keyring every replica shares
 * (`events.signing`), whose public keys are published and can anchor a verification, or a
 * key this replica made at start, which nothing outside the chain itself vouches for.
 */
export type AuditKeySource = 'configured' | 'ephemeral';

/** Publication order: verifiers try the signing key first. */
const PUBLISHED_ORDER: readonly AuditKeyState[] = ['active', 'next', 'retired'];

/**
 * The audit chain's signing keys. Only the active key signs; `publicJwks()` is the JWK Set
 * served at `/.well-known/jit-audit-keys.json`. The private keys never leave this object.
 */
export class AuditKeyring {
  readonly source: AuditKeySource;
  /** The active key's kid, carried by the genesis and by every checkpoint it signs. */
  readonly kid: string;
  readonly #signingKey: KeyObject;
  readonly #published: readonly Required<AuditPublicJwk>[];

  private constructor(
    source: AuditKeySource,
    kid: string,
    signingKey: KeyObject,
    published: readonly Required<AuditPublicJwk>[],
  ) {
    this.source = source;
    this.kid = kid;
    this.#signingKey = signingKey;
    this.#published = published;
  }

  /**
   * A fresh key for this replica alone, named by its thumbprint. Published nowhere: a JWKS
   * holding a key that dies with the process would anchor nothing.
   */
  static ephemeral(): AuditKeyring {
    const { privateKey } = generateKeyPairSync('ed25519');
    const kid = jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: ed25519X(privateKey) });
    return new AuditKeyring('ephemeral', kid, privateKey, []);
  }

  /** The keyring of validated `events.signing.keys` (see `auditSigningSchema`). */
  static configured(keys: readonly AuditKeyConfig[]): AuditKeyring {
    const active = keys.filter((key) => key.state === 'active');
    const [signing] = active;
    if (signing?.private_key === undefined || active.length !== 1) {
      throw new TypeError('events.signing: exactly one active key, with its private_key');
    }
    const published = PUBLISHED_ORDER.flatMap((state) =>
      keys
        .filter((key) => key.state === state)
        .map((key) =>
          auditJwkOf(
            key.private_key === undefined
              ? readAuditPublicKey(key.public_key ?? '')
              : readAuditPrivateKey(key.private_key),
            key.kid,
          ),
        ),
    );
    return new AuditKeyring(
      'configured',
      signing.kid,
      readAuditPrivateKey(signing.private_key),
      published,
    );
  }

  /** The key that signs, for the chain alone. */
  signingKey(): { kid: string; key: KeyObject } {
    return { kid: this.kid, key: this.#signingKey };
  }

  /** The published keys (active, next, retired): fresh copies, so callers cannot alter the ring. */
  publicJwks(): Required<AuditPublicJwk>[] {
    return this.#published.map((jwk) => ({ ...jwk }));
  }
}

/**
 * The keyring `events.signing` configures, or an ephemeral one when it configures none.
 * Throws a ConfigError naming each bad field: the issues `buildRuntime` reports, so what
 * `config validate` passes is what starts.
 */
export function createAuditKeyring(events: { readonly signing?: unknown }): AuditKeyring {
  const { signing, issues } = readAuditSigningConfig(events);
  if (issues.length > 0) throw new ConfigError(issues);
  return signing === undefined ? AuditKeyring.ephemeral() : AuditKeyring.configured(signing.keys);
}
