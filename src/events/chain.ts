import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { canonicalize } from './canonical.js';
import { newEventId, newInstanceId } from './lib/ids.js';
import type { BrokerEvent, EventInput, EventType, Severity } from './types.js';

/** The public half of an instance's signing key, as announced in its genesis event. */
export interface Ed25519PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
}

export const GENESIS_PREV = '0'.repeat(64);

/** Severity when the caller does not set one: what a SIEM analyst should look at first. */
export const DEFAULT_SEVERITY: Record<EventType, Severity> = {
  'credential.issued': 'info',
  'credential.denied': 'low',
  'auth.failed': 'medium',
  'lease.revoked': 'info',
  'lease.expired': 'info',
  'lease.renewed': 'info',
  'lease.revoke_failed': 'high',
  'task.ended': 'info',
  'workload.revoked': 'high',
  'workload.blocked': 'medium',
  'workload.unblocked': 'info',
  'operator.break_glass_used': 'critical',
  'policy.reloaded': 'info',
  'issuance.frozen': 'high',
  'issuance.unfrozen': 'medium',
  'chain.genesis': 'info',
};

export interface EventChainOptions {
  /**
   * An Ed25519 private key. By default a fresh key is generated, so the only way to sign
   * into this chain is to be this process; pass one only when the key is held elsewhere.
   */
  privateKey?: KeyObject;
  /** Defaults to `ins_` + random. */
  instance?: string;
}

/**
 * One replica's signed hash chain. `genesis()` must come first (seq 0); every later event
 * links to its predecessor by hash and is signed, so a verifier holding only the public key
 * can tell a dropped, reordered or altered event from an intact chain.
 */
export class EventChain {
  readonly instance: string;
  readonly publicKeyJwk: Ed25519PublicJwk;
  readonly #privateKey: KeyObject;
  #seq = 0;
  #prev = GENESIS_PREV;

  constructor(options: EventChainOptions = {}) {
    this.#privateKey = options.privateKey ?? generateKeyPairSync('ed25519').privateKey;
    if (this.#privateKey.asymmetricKeyType !== 'ed25519') {
      throw new TypeError('EventChain needs an Ed25519 private key');
    }
    this.instance = options.instance ?? newInstanceId();
    const jwk = createPublicKey(this.#privateKey).export({ format: 'jwk' });
    if (typeof jwk.x !== 'string') throw new TypeError('Ed25519 public key has no x');
    this.publicKeyJwk = Object.freeze({ kty: 'OKP', crv: 'Ed25519', x: jwk.x });
  }

  /** Sequence number the next event will carry. */
  get nextSeq(): number {
    return this.#seq;
  }

  get started(): boolean {
    return this.#seq > 0;
  }

  /** The `chain.genesis` event (seq 0) announcing this instance's public key. */
  genesis(time: Date): BrokerEvent {
    if (this.started) throw new TypeError('EventChain.genesis() called twice');
    return this.#link(
      {
        type: 'chain.genesis',
        outcome: 'success',
        detail: { public_key: { ...this.publicKeyJwk }, alg: 'EdDSA', canonicalization: 'JCS' },
      },
      time,
    );
  }

  /**
   * Stamps, numbers, links and signs `input`. The input must already be JSON-clean and
   * free of secrets (see `redact.ts`).
   */
  append(input: EventInput, time: Date): BrokerEvent {
    if (!this.started) throw new TypeError('EventChain.append() before genesis()');
    if (input.type === 'chain.genesis') {
      throw new TypeError('chain.genesis is emitted by the chain only');
    }
    return this.#link(input, time);
  }

  #link(input: EventInput, time: Date): BrokerEvent {
    const unsigned: Omit<BrokerEvent, 'sig'> = {
      ...input,
      id: newEventId(),
      time: time.toISOString(),
      severity: input.severity ?? DEFAULT_SEVERITY[input.type],
      instance: this.instance,
      seq: this.#seq,
      prev: this.#prev,
    };
    const signature = sign(null, Buffer.from(canonicalize(unsigned)), this.#privateKey);
    const event: BrokerEvent = { ...unsigned, sig: signature.toString('base64url') };
    this.#seq += 1;
    this.#prev = eventHash(event);
    return deepFreeze(event);
  }
}

/** SHA-256 (hex) of an event's canonical form, signature included: the next event's `prev`. */
export function eventHash(event: BrokerEvent): string {
  return createHash('sha256').update(canonicalize(event)).digest('hex');
}

export type ChainVerification =
  | { ok: true }
  | { ok: false; index: number; error: 'bad_signature' | 'broken_link' | 'gap' | 'reordered' };

/**
 * Checks a run of one instance's events, in the order received. The run may start
 * anywhere (a SIEM may only hold the tail); a run starting at seq 0 must start at genesis.
 * A missing seq that turns up later in the run is reported as `reordered`, one that never
 * does as `gap`.
 */
export function verifyChain(
  events: readonly BrokerEvent[],
  publicKeyJwk: Ed25519PublicJwk,
): ChainVerification {
  const key = createPublicKey({ key: { ...publicKeyJwk }, format: 'jwk' });
  const present = new Set(events.map((event) => event.seq));
  let previous: BrokerEvent | undefined;
  for (const [index, event] of events.entries()) {
    if (!hasValidSignature(event, key)) return { ok: false, index, error: 'bad_signature' };
    if (previous === undefined) {
      if (event.seq === 0 && event.prev !== GENESIS_PREV) {
        return { ok: false, index, error: 'broken_link' };
      }
    } else {
      const expected = previous.seq + 1;
      if (event.instance !== previous.instance) return { ok: false, index, error: 'broken_link' };
      if (event.seq < expected) return { ok: false, index, error: 'reordered' };
      if (event.seq > expected) {
        return { ok: false, index, error: present.has(expected) ? 'reordered' : 'gap' };
      }
      if (event.prev !== eventHash(previous)) return { ok: false, index, error: 'broken_link' };
    }
    previous = event;
  }
  return { ok: true };
}

function hasValidSignature(event: BrokerEvent, key: KeyObject): boolean {
  if (typeof event.sig !== 'string') return false;
  const { sig, ...unsigned } = event;
  try {
    return verify(null, Buffer.from(canonicalize(unsigned)), key, Buffer.from(sig, 'base64url'));
  } catch {
    return false;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
