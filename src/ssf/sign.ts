import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SetSigningKey } from './key.js';
import { CAEP_EVENT_URIS, type Signal } from './signals.js';

/** RFC 8417 §2.3: the `typ` of a Security Event Token. */
export const SET_TYPE = 'secevent+jwt';

export interface SetAddress {
  readonly issuer: string;
  readonly audience: string;
}

/**
 * Signs one SET for one receiver (RFC 8417, SSF 1.0 §4): `iss`, the receiver's `aud`, `iat`,
 * its `jti` (the same on every attempt), `txn` (the broker event that caused it), the top-level `sub_id`, one event
 * in `events`, and the broker's `jit` claim with the ids a receiver matches against. No
 * `exp`: RFC 8417 leaves a SET's lifetime to the receiver's freshness check on `iat`.
 */
export async function signSet(
  key: SetSigningKey,
  address: SetAddress,
  signal: Signal,
  now: Date,
  jti: string = `set_${randomBytes(16).toString('base64url')}`,
): Promise<{ jti: string; token: string }> {
  const token = await new SignJWT({
    txn: signal.txn,
    sub_id: signal.subject,
    events: { [CAEP_EVENT_URIS[signal.kind]]: signal.payload },
    jit: signal.jit,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: SET_TYPE })
    .setIssuer(address.issuer)
    .setAudience(address.audience)
    .setIssuedAt(Math.floor(now.getTime() / 1000))
    .setJti(jti)
    .sign(key.privateKey);
  return { jti, token };
}
