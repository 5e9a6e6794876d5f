import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { canonicalize } from './canonical.js';
import { GENESIS_PREV, SIGNED_TYPES, sha256, withoutSig } from './lib/chain-format.js';
import type { AuditPublicJwk } from './signing/jwk.js';
import type { BrokerEvent } from './types.js';

export type ChainError =
  | 'bad_signature'
  | 'broken_link'
  | 'gap'
  | 'reordered'
  | 'checkpoint_mismatch'
  | 'key_not_anchored'
  | 'unknown_kid';

export type ChainVerification =
  | {
      ok: true;
      /**
       * Events after the last signed one in the run (absent when there are none). Their
       * links hold, but nothing signed covers them yet: anyone could have altered them.
       */
      unsignedTail?: number;
    }
  | { ok: false; index: number; error: ChainError };

interface TrustedKey {
  kid: string | undefined;
  x: string;
  key: KeyObject;
}

/**
 * Checks a run of one instance's events, in the order received, against the keys the
 * verifier trusts (the anchor: the broker's published JWKS, or one key). The run may start
 * anywhere (a SIEM may only hold the tail); a run starting at seq 0 must start at genesis.
 *
 * - `broken_link` at `index`: the event's `prev` is not the hash of the event before it in
 *   the run (that one or this one was altered, or comes from another chain), or it belongs
 *   to another instance, or seq 0 and `chain.genesis` do not go together.
 * - `gap` / `reordered`: the seq is not the previous seq + 1; a missing seq that turns up
 *   later in the run is `reordered`, one that never does is a `gap`.
 * - `key_not_anchored`: the genesis announces a public key that is not among the trusted
 *   ones. The chain may verify under its own key, but that proves only that someone with
 *   some key wrote it: a re-signed copy would too.
 * - `unknown_kid`: a checkpoint names a kid no trusted key has.
 * - `bad_signature`: a genesis or checkpoint whose `sig` does not verify, over its canonical
 *   form without `sig`, with the trusted key it names (a checkpoint without a kid, written
 *   before kids were, with any trusted key), or any other event that carries a `sig`.
 * - `checkpoint_mismatch`: a checkpoint whose `detail` does not name the event before it
 *   (`upto_seq` = seq - 1, `upto_hash` = `prev`, the hash of the event at `upto_seq`).
 *
 * A trusted key without a kid (read from a bare PEM) stands for any kid.
 *
 * `{ ok: true }` means every event up to the last signed one is exactly what a holder of a
 * trusted key chained; events after it are counted in `unsignedTail` and are not yet
 * authenticated.
 */
export function verifyChain(
  events: readonly BrokerEvent[],
  trusted: AuditPublicJwk | readonly AuditPublicJwk[],
): ChainVerification {
  const keys = trustedKeys(trusted);
  const present = new Set(events.map((event) => event.seq));
  let previous: { event: BrokerEvent; hash: string } | undefined;
  let unsignedTail = 0;
  for (const [index, event] of events.entries()) {
    const canonical = canonicalize(withoutSig(event));
    if ((event.seq === 0) !== (event.type === 'chain.genesis')) {
      return { ok: false, index, error: 'broken_link' };
    }
    if (previous === undefined) {
      if (event.seq === 0 && event.prev !== GENESIS_PREV) {
        return { ok: false, index, error: 'broken_link' };
      }
    } else {
      const expected = previous.event.seq + 1;
      if (event.instance !== previous.event.instance) {
        return { ok: false, index, error: 'broken_link' };
      }
      if (event.seq < expected) return { ok: false, index, error: 'reordered' };
      if (event.seq > expected) {
        return { ok: false, index, error: present.has(expected) ? 'reordered' : 'gap' };
      }
      if (event.prev !== previous.hash) return { ok: false, index, error: 'broken_link' };
    }
    if (SIGNED_TYPES.has(event.type)) {
      const signers = signersOf(event, keys);
      if (typeof signers === 'string') return { ok: false, index, error: signers };
      if (!signers.some((signer) => hasValidSignature(canonical, event.sig, signer.key))) {
        return { ok: false, index, error: 'bad_signature' };
      }
      if (event.type === 'chain.checkpoint' && !namesItsPredecessor(event)) {
        return { ok: false, index, error: 'checkpoint_mismatch' };
      }
      unsignedTail = 0;
    } else {
      if (event.sig !== undefined) return { ok: false, index, error: 'bad_signature' };
      unsignedTail += 1;
    }
    previous = { event, hash: sha256(canonical) };
  }
  return unsignedTail === 0 ? { ok: true } : { ok: true, unsignedTail };
}

function trustedKeys(trusted: AuditPublicJwk | readonly AuditPublicJwk[]): TrustedKey[] {
  const list: readonly AuditPublicJwk[] = isKeyList(trusted) ? trusted : [trusted];
  return list.map((jwk) => ({
    kid: jwk.kid,
    x: jwk.x,
    key: createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' }),
  }));
}

function isKeyList(
  trusted: AuditPublicJwk | readonly AuditPublicJwk[],
): trusted is readonly AuditPublicJwk[] {
  return Array.isArray(trusted);
}

/**
 * The trusted keys that may have signed `event`. A genesis must announce one of them (by its
 * key, and by its kid where both have one); a checkpoint names its kid.
 */
function signersOf(
  event: BrokerEvent,
  keys: readonly TrustedKey[],
): readonly TrustedKey[] | 'key_not_anchored' | 'unknown_kid' {
  const kid = typeof event.detail?.kid === 'string' ? event.detail.kid : undefined;
  const byKid = (key: TrustedKey) => key.kid === undefined || kid === undefined || key.kid === kid;
  if (event.type === 'chain.genesis') {
    const announced = event.detail?.public_key as { x?: unknown } | undefined;
    const anchored = keys.filter((key) => key.x === announced?.x && byKid(key));
    return anchored.length > 0 ? anchored : 'key_not_anchored';
  }
  const named = keys.filter(byKid);
  return named.length > 0 ? named : 'unknown_kid';
}

function namesItsPredecessor(checkpoint: BrokerEvent): boolean {
  const detail = checkpoint.detail;
  return detail?.upto_seq === checkpoint.seq - 1 && detail.upto_hash === checkpoint.prev;
}

function hasValidSignature(canonical: string, sig: unknown, key: KeyObject): boolean {
  if (typeof sig !== 'string') return false;
  try {
    return verify(null, Buffer.from(canonical), key, Buffer.from(sig, 'base64url'));
  } catch {
    return false;
  }
}
