import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { canonicalize } from './canonical.js';
import { GENESIS_PREV, SIGNED_TYPES, sha256 } from './lib/chain-format.js';
import { eventIdSource, newInstanceId } from './lib/ids.js';
import { type Ed25519PublicJwk, ed25519X, jwkThumbprint } from './signing/jwk.js';
import type { AuditKeySource } from './signing/keyring.js';
import type { BrokerEvent, EventInput, EventType, Severity } from './types.js';

export { eventHash, GENESIS_PREV } from './lib/chain-format.js';
export type { AuditPublicJwk, Ed25519PublicJwk } from './signing/jwk.js';
export { type ChainError, type ChainVerification, verifyChain } from './verify-chain.js';

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
  // The kill switch has begun: the workload's tokens are refused from now on.
  'workload.revoking': 'high',
  'workload.revoked': 'high',
  'workload.blocked': 'medium',
  'workload.unblocked': 'info',
  'workload.review_due': 'medium',
  'operator.break_glass_used': 'critical',
  'policy.reloaded': 'info',
  // A configuration on disk the broker refuses: a mistake, or someone editing it who should not.
  'policy.reload_rejected': 'medium',
  // What a policy in dry run would have decided: for watching a rollout, not an alert.
  'policy.dry_run': 'info',
  'detection.fired': 'high',
  'detection.hold_released': 'medium',
  'approval.requested': 'low',
  'approval.granted': 'medium',
  'approval.denied': 'low',
  'approval.expired': 'info',
  'approval.used': 'info',
  'issuance.frozen': 'high',
  'issuance.unfrozen': 'medium',
  'chain.genesis': 'info',
  'chain.checkpoint': 'info',
  'revocation.verified': 'info',
  'revocation.unverified': 'high',
  'revocation.unverifiable': 'low',
  'ssf.delivery_failed': 'high',
};

export interface EventChainOptions {
  /**
   * An Ed25519 private key: the active key of the replicas' shared keyring. By default a
   * fresh key is generated, so the only way to sign into this chain is to be this process,
   * and nothing outside the chain vouches for it.
   */
  privateKey?: KeyObject;
  /** Names the key in the genesis and every checkpoint. Default: its RFC 7638 thumbprint. */
  kid?: string;
  /** Default: `configured` when `privateKey` is given, `ephemeral` when generated here. */
  keySource?: AuditKeySource;
  /** Defaults to `ins_` + random. */
  instance?: string;
}

/**
 * One replica's hash chain with signed checkpoints. `genesis()` must come first (seq 0);
 * every later event links to its predecessor by hash. Genesis and `checkpoint()` events are
 * signed, and since a signature covers the signed event's `prev`, it covers every earlier
 * event through the links: a verifier holding only the public key can tell a dropped,
 * reordered or altered event from an intact chain up to the last checkpoint it holds.
 *
 * Each event is canonicalised once; its hash (the next `prev`) and, for a signed event, its
 * signature are over those same bytes, which leave out `sig`.
 */
export class EventChain {
  readonly instance: string;
  readonly publicKeyJwk: Ed25519PublicJwk;
  readonly kid: string;
  readonly keySource: AuditKeySource;
  readonly #privateKey: KeyObject;
  readonly #nextId = eventIdSource();
  #seq = 0;
  #prev = GENESIS_PREV;
  #uncovered = 0;

  constructor(options: EventChainOptions = {}) {
    this.#privateKey = options.privateKey ?? generateKeyPairSync('ed25519').privateKey;
    if (this.#privateKey.asymmetricKeyType !== 'ed25519') {
      throw new TypeError('EventChain needs an Ed25519 private key');
    }
    this.instance = options.instance ?? newInstanceId();
    this.publicKeyJwk = Object.freeze({
      kty: 'OKP',
      crv: 'Ed25519',
      x: ed25519X(this.#privateKey),
    });
    this.kid = options.kid ?? jwkThumbprint(this.publicKeyJwk);
    this.keySource =
      options.keySource ?? (options.privateKey === undefined ? 'ephemeral' : 'configured');
  }

  /** Sequence number the next event will carry. */
  get nextSeq(): number {
    return this.#seq;
  }

  get started(): boolean {
    return this.#seq > 0;
  }

  /** Events chained since the last signed one: what a checkpoint now would cover. */
  get uncovered(): number {
    return this.#uncovered;
  }

  /**
   * The `chain.genesis` event (seq 0) announcing this instance's public key, its kid and
   * where it comes from: a verifier refuses a key that is not among those it was given, and
   * without any, `key_source: ephemeral` tells it that only the chain itself vouches for it.
   */
  genesis(time: Date): BrokerEvent {
    if (this.started) throw new TypeError('EventChain.genesis() called twice');
    return this.#link(
      {
        type: 'chain.genesis',
        outcome: 'success',
        detail: {
          public_key: { ...this.publicKeyJwk },
          kid: this.kid,
          key_source: this.keySource,
          alg: 'EdDSA',
          canonicalization: 'JCS',
        },
      },
      time,
    );
  }

  /**
   * Stamps, numbers and links `input`. The input must already be JSON-clean and free of
   * secrets (see `redact.ts`).
   */
  append(input: EventInput, time: Date): BrokerEvent {
    if (!this.started) throw new TypeError('EventChain.append() before genesis()');
    if (SIGNED_TYPES.has(input.type)) {
      throw new TypeError(`${input.type} is emitted by the chain only`);
    }
    return this.#link(input, time);
  }

  /**
   * A signed `chain.checkpoint` naming the event just before it (`upto_seq`, `upto_hash`),
   * which covers everything chained so far, and the `kid` that signs it. `final` marks the
   * last event of the chain (the bus closing): a run that does not end with it was cut
   * short, or its replica is still running.
   */
  checkpoint(time: Date, options: { final?: boolean } = {}): BrokerEvent {
    if (!this.started) throw new TypeError('EventChain.checkpoint() before genesis()');
    return this.#link(
      {
        type: 'chain.checkpoint',
        outcome: 'success',
        detail: {
          kid: this.kid,
          upto_hash: this.#prev,
          upto_seq: this.#seq - 1,
          ...(options.final === true ? { final: true } : {}),
        },
      },
      time,
    );
  }

  #link(input: EventInput, time: Date): BrokerEvent {
    const event = inCanonicalOrder(input, {
      id: this.#nextId(),
      time: time.toISOString(),
      severity: input.severity ?? DEFAULT_SEVERITY[input.type],
      instance: this.instance,
      seq: this.#seq,
      prev: this.#prev,
    });
    const canonical = canonicalize(event);
    if (SIGNED_TYPES.has(event.type)) {
      event.sig = sign(null, Buffer.from(canonical), this.#privateKey).toString('base64url');
      this.#uncovered = 0;
    } else {
      this.#uncovered += 1;
    }
    this.#seq += 1;
    this.#prev = sha256(canonical);
    return freezeEvent(event);
  }
}

type Stamps = Pick<BrokerEvent, 'id' | 'time' | 'severity' | 'instance' | 'seq' | 'prev'>;

/**
 * The event with its members in canonical (code unit) order, so that `canonicalize` can hand
 * it straight to JSON.stringify. One named store per member, because V8 keeps such an
 * object in fast mode, where a loop of computed stores of this many members makes a slow
 * dictionary of it (both cost here, and in every sink that serialises the event). Members
 * outside `BrokerEvent` are not carried; a test checks that none of its members is missed.
 */
function inCanonicalOrder(input: EventInput, stamps: Stamps): BrokerEvent {
  const event: Partial<BrokerEvent> = {};
  if (input.actor !== undefined) event.actor = input.actor;
  if (input.counts !== undefined) event.counts = input.counts;
  if (input.detail !== undefined) event.detail = input.detail;
  if (input.expires_at !== undefined) event.expires_at = input.expires_at;
  event.id = stamps.id;
  event.instance = stamps.instance;
  if (input.issuer !== undefined) event.issuer = input.issuer;
  if (input.lease_id !== undefined) event.lease_id = input.lease_id;
  event.outcome = input.outcome;
  if (input.policy !== undefined) event.policy = input.policy;
  if (input.policy_hash !== undefined) event.policy_hash = input.policy_hash;
  event.prev = stamps.prev;
  if (input.provider !== undefined) event.provider = input.provider;
  if (input.reason !== undefined) event.reason = input.reason;
  if (input.request_id !== undefined) event.request_id = input.request_id;
  if (input.scope !== undefined) event.scope = input.scope;
  event.seq = stamps.seq;
  event.severity = stamps.severity;
  if (input.source_ip !== undefined) event.source_ip = input.source_ip;
  if (input.subject !== undefined) event.subject = input.subject;
  if (input.target !== undefined) event.target = input.target;
  if (input.task !== undefined) event.task = input.task;
  event.time = stamps.time;
  if (input.token_sha256 !== undefined) event.token_sha256 = input.token_sha256;
  event.type = input.type;
  if (input.workload !== undefined) event.workload = input.workload;
  return event as BrokerEvent;
}

/** Only `task`, `scope`, `detail` and `counts` nest; every other member is a primitive. */
function freezeEvent(event: BrokerEvent): BrokerEvent {
  Object.freeze(event);
  deepFreeze(event.task);
  deepFreeze(event.scope);
  deepFreeze(event.detail);
  deepFreeze(event.counts);
  return event;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
