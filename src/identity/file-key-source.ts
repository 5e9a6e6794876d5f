import { readFileSync } from 'node:fs';
import type { CryptoKey, JWSHeaderParameters } from 'jose';
import { KeySet, type KeySource } from './key-set.js';
import { Rejection } from './rejection.js';

/** A JWKS file read once at construction, so a missing or broken file stops the start. */
export class FileKeySource implements KeySource {
  readonly #keys: KeySet;

  constructor(path: string) {
    let document: unknown;
    try {
      document = JSON.parse(readFileSync(path, 'utf8'));
    } catch (cause) {
      throw new TypeError(`cannot read JWKS file ${path}: ${(cause as Error).message}`);
    }
    try {
      this.#keys = KeySet.fromJwks(document);
    } catch (cause) {
      throw new TypeError(`JWKS file ${path}: ${(cause as Error).message}`);
    }
  }

  async current(): Promise<number> {
    return 0;
  }

  async candidates(header: JWSHeaderParameters): Promise<CryptoKey[]> {
    const keys = await this.#keys.match(header);
    if (keys.length === 0) throw new Rejection('unknown_key', 'no key in the JWKS file matches');
    return keys;
  }
}
