import { SignJWT } from 'jose';
import { z } from 'zod';
import type { Keyring } from './keyring.js';

/** RFC 8693 §4.1: the acting party; a nested `act` names the party before it in the chain. */
export interface ActorClaim {
  sub: string;
  iss?: string;
  act?: ActorClaim;
}

/** Task the token is bound to. */
export interface TaskClaim {
  id: string;
  intent: string;
  tool?: string;
}

/**
 * The claims that stay the same when a token is reissued. All but `act` follow from the lease
 * (workload, subject, scope, task) and the target (audience), so the lease's sealed handle
 * keeps only `act` without its `sub` (the issuer URLs in it are not part of the lease record)
 * and a digest of all of them, which a renewal must reproduce.
 */
export interface ReissuableClaims {
  sub: string;
  aud: string;
  act: ActorClaim;
  scope: string;
  task: TaskClaim;
}

export const actorClaimSchema: z.ZodType<ActorClaim> = z.lazy(() =>
  z
    .object({
      sub: z.string().min(1),
      iss: z.string().min(1).exactOptional(),
      act: actorClaimSchema.exactOptional(),
    })
    .strict(),
);

export interface AccessTokenTimes {
  /** Lease id: the token's `jti`, which introspection looks up. */
  jti: string;
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
}

/**
 * Signs an RFC 9068 access token with the keyring's active key. `client_id` is the workload,
 * which RFC 9068 §2.2 requires alongside `sub`.
 */
export async function signAccessToken(
  keyring: Keyring,
  issuer: string,
  claims: ReissuableClaims,
  times: AccessTokenTimes,
): Promise<{ token: string; kid: string }> {
  const { kid, key } = keyring.signingKey();
  const token = await new SignJWT({
    act: claims.act,
    scope: claims.scope,
    task: claims.task,
    client_id: claims.sub,
  })
    .setProtectedHeader({ alg: keyring.algorithm, kid, typ: 'at+jwt' })
    .setIssuer(issuer)
    .setAudience(claims.aud)
    .setSubject(claims.sub)
    .setJti(times.jti)
    .setIssuedAt(times.iat)
    .setNotBefore(times.iat)
    .setExpirationTime(times.exp)
    .sign(key);
  return { token, kid };
}
