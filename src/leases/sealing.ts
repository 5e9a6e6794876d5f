import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { RevocationHandle } from '../../providers/provider.js';
import { poolRandomBytes } from '../lib/random-pool.js';

export interface SealingKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

/**
 * AES-256-GCM for revocation handles at rest. The key id travels with the ciphertext so
 * keys can rotate (seal with the first, open with any); the lease id is the associated data,
 * so a handle copied onto another lease does not open.
 */
export class HandleSealer {
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly #current: SealingKey;

  constructor(keys: readonly SealingKey[]) {
    const first = keys[0];
    if (!first) throw new TypeError('encryption.keys: at least one key is required');
    for (const k of keys) {
      if (k.key.length !== 32) throw new TypeError(`encryption key ${k.id}: expected 32 bytes`);
    }
    this.#keys = new Map(keys.map((k) => [k.id, k.key]));
    this.#current = first;
  }

  /** Ids of every key that opens; the first seals. */
  get keyIds(): string[] {
    return [this.#current.id, ...[...this.#keys.keys()].filter((id) => id !== this.#current.id)];
  }

  static fromConfig(keys: readonly { id: string; key: string }[]): HandleSealer {
    return new HandleSealer(keys.map((k) => ({ id: k.id, key: Buffer.from(k.key, 'base64') })));
  }

  seal(leaseId: string, handle: RevocationHandle): string {
    const iv = poolRandomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv);
    cipher.setAAD(Buffer.from(leaseId, 'utf8'));
    const body = Buffer.concat([cipher.update(JSON.stringify(handle), 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [
      'v1',
      this.#current.id,
      iv.toString('base64url'),
      Buffer.concat([body, tag]).toString('base64url'),
    ].join('.');
  }

  open(leaseId: string, sealed: string): RevocationHandle {
    const [version, keyId, ivText, bodyText] = sealed.split('.');
    if (version !== 'v1' || !keyId || !ivText || !bodyText)
      throw new Error('sealed handle: bad format');
    const key = this.#keys.get(keyId);
    if (!key) throw new Error(`sealed handle: unknown key id ${keyId}`);
    const data = Buffer.from(bodyText, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'));
    decipher.setAAD(Buffer.from(leaseId, 'utf8'));
    decipher.setAuthTag(data.subarray(data.length - 16));
    const plain = Buffer.concat([
      decipher.update(data.subarray(0, data.length - 16)),
      decipher.final(),
    ]);
    return JSON.parse(plain.toString('utf8')) as RevocationHandle;
  }
}
