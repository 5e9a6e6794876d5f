import { createHash } from 'node:crypto';
import { type JWTPayload, jwtVerify } from 'jose';
import {
  type Minted,
  type MintRequest,
  type Provider,
  type ProviderContext,
  ProviderError,
  type RenewRequest,
  type RenewResult,
  type RevocationHandle,
  type TokenIntrospection,
} from '../provider.js';
import type { JwtTargetConfig } from './config.js';
import { Keyring } from './keyring.js';
import type { PublicJwk } from './lib/signing-key.js';
import {
  type JwtCeiling,
  type JwtScope,
  jwtCeilingSchema,
  jwtScopeSchema,
  jwtWithin,
} from './scope.js';
import { suggestJwtCeiling } from './suggest.js';
import {
  type ActorClaim,
  actorClaimSchema,
  type ReissuableClaims,
  signAccessToken,
  type TaskClaim,
} from './token.js';

export interface JwtCredential {
  token: string;
  token_type: 'Bearer';
  audience: string;
  /** ISO 8601; equals the token's `exp`. */
  expires_at: string;
}

/** A `jwt` target. Beyond the provider contract it publishes keys and verifies its own tokens. */
export interface JwtProvider extends Provider<JwtScope, JwtCeiling, JwtCredential> {
  readonly kind: 'jwt';
  readonly audience: string;
  readonly introspection: TokenIntrospection;
  readonly bearerTokenType: 'jwt';
  /** Workload ids that may introspect tokens for this audience. */
  readonly resourceServers: readonly string[];
  /** Active, next and retired public keys, for `/.well-known/jwks.json`. */
  publicJwks(): PublicJwk[];
  /**
   * The payload of a token this target issued, or `null` when the signature, `iss`, `aud`,
   * `typ` or `exp` does not hold. Revocation is not checked here: the lease store decides.
   */
  verifyIssued(token: string): Promise<JWTPayload | null>;
  renew(handle: RevocationHandle, req: RenewRequest<JwtScope>): Promise<RenewResult<JwtCredential>>;
}

/**
 * Larger tokens are not ours: the most this target can mint (256 scopes of 128 chars) stays
 * well below it, and nothing bigger is parsed or hashed.
 */
const MAX_TOKEN_CHARS = 65_536;

export function createJwtProvider(config: JwtTargetConfig, ctx: ProviderContext): JwtProvider {
  const keyring = new Keyring(config.name, config.algorithm, config.keys);
  const scopeSchema = jwtScopeSchema(config.max_scopes);
  const issuer = ctx.brokerUrl;

  async function issue(claims: ReissuableClaims, jti: string, iat: number, exp: number) {
    if (!(exp > iat)) {
      throw new ProviderError(
        'provider_rejected',
        'token expiry must be after its issue time',
        false,
      );
    }
    let signed: { token: string; kid: string };
    try {
      signed = await signAccessToken(keyring, issuer, claims, { jti, iat, exp });
    } catch {
      // jose's message could describe the key; the target name is enough to act on.
      throw new ProviderError(
        'provider_misconfigured',
        `jwt target "${config.name}": signing failed`,
        false,
      );
    }
    const credential: JwtCredential = {
      token: signed.token,
      token_type: 'Bearer',
      audience: claims.aud,
      expires_at: new Date(exp * 1000).toISOString(),
    };
    // The handle is stored with every lease: only what the lease cannot say (the actor
    // chain but its subject, see token.ts), and a digest of the rest, so a renewal re-signs
    // exactly the original grant.
    const { sub: _subject, ...act } = claims.act;
    return {
      credential,
      handle: { act, grant: grantDigest(claims) },
      providerExpiresAt: exp * 1000,
    };
  }

  async function verifyIssued(token: string): Promise<JWTPayload | null> {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) return null;
    try {
      const { payload } = await jwtVerify(token, keyring.verificationKeys, {
        issuer,
        audience: config.audience,
        typ: 'at+jwt',
        algorithms: [config.algorithm],
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
      });
      return payload;
    } catch {
      return null;
    }
  }
  const resourceServers = [...config.resource_servers];

  return {
    kind: 'jwt',
    target: config.name,
    scope: scopeSchema,
    ceiling: jwtCeilingSchema,
    revokeConcurrency: config.revoke_concurrency,
    // The token's `task` claim names the tool it was issued for.
    seesTools: true,
    // Revocation is the lease state itself (introspection reads it); nothing to open.
    revokeUsesHandle: false,
    revocationIsLeaseState: true,
    audience: config.audience,
    resourceServers,
    introspection: { resourceServers, verify: verifyIssued },
    bearerTokenType: 'jwt',
    within: jwtWithin,
    suggestCeiling: suggestJwtCeiling,
    publicJwks: () => keyring.publicJwks(),

    async mint(req: MintRequest<JwtScope>): Promise<Minted<JwtCredential>> {
      const { scope } = req;
      return issue(
        claimsFor(config.audience, req.workload, actorClaim(req), scope, req.task),
        req.leaseId,
        Math.floor(req.issuedAt / 1000),
        Math.floor(req.expiresAt / 1000),
      );
    },

    // The lease store is the truth: introspection reads it, and `exp` is the backstop.
    async revoke(): Promise<void> {},

    // The same grant re-signed under the target's current key and audience, with a new exp.
    async renew(handle, { leaseId, workload, subject, scope, task, expiresAt }) {
      const stored = typeof handle.act === 'object' && handle.act !== null ? handle.act : null;
      const act = actorClaimSchema.safeParse(stored && { ...stored, sub: subject });
      const granted = scopeSchema.safeParse(scope);
      if (!act.success || !granted.success) {
        throw new ProviderError('not_renewable', 'lease carries no claims to reissue', false);
      }
      const claims = claimsFor(config.audience, workload, act.data, granted.data, task);
      // The lease record is not sealed; the handle is. A record altered in Redis (a wider
      // scope) or a target whose audience changed does not get a token signed.
      if (handle.grant !== grantDigest(claims)) {
        throw new ProviderError(
          'not_renewable',
          'the lease no longer matches the grant it was issued with',
          false,
        );
      }
      const minted = await issue(
        claims,
        leaseId,
        Math.floor(Date.now() / 1000),
        Math.floor(expiresAt / 1000),
      );
      return { credential: minted.credential, handle: minted.handle };
    },

    verifyIssued,

    async check() {
      return { ok: true, detail: `signing with key "${keyring.activeKid}"` };
    },
  };
}

function claimsFor(
  audience: string,
  workload: string,
  act: ActorClaim,
  scope: JwtScope,
  task: MintRequest<JwtScope>['task'],
): ReissuableClaims {
  return {
    sub: workload,
    aud: audience,
    act,
    scope: scope.scopes.join(' '),
    task: taskClaim(task),
  };
}

/** 128 bits of SHA-256 over the claims a renewal rebuilds from the lease and the target. */
function grantDigest(claims: ReissuableClaims): string {
  const granted = [claims.aud, claims.sub, claims.act, claims.scope, claims.task];
  return createHash('sha256').update(JSON.stringify(granted)).digest('base64url').slice(0, 22);
}

function actorClaim(req: MintRequest<JwtScope>): ActorClaim {
  // The workload's verified identity acts; a verified actor assertion names who it acts for.
  const self: ActorClaim =
    req.subjectIssuer === undefined
      ? { sub: req.subject }
      : { sub: req.subject, iss: req.subjectIssuer };
  if (req.actor === undefined) return self;
  return { ...self, act: { sub: req.actor.subject, iss: req.actor.issuer } };
}

function taskClaim(task: MintRequest<JwtScope>['task']): TaskClaim {
  return task.tool === undefined
    ? { id: task.id, intent: task.intent }
    : { id: task.id, intent: task.intent, tool: task.tool };
}
