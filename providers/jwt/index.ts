export {
  type JwtKeyConfig,
  type JwtTargetConfig,
  jwtTargetSchema,
  KEY_STATES,
  type KeyState,
} from './config.js';
export {
  createJwtProvider,
  type JwtCredential,
  type JwtProvider,
} from './create-provider.js';
export { generateDevKey } from './dev-key.js';
export { jwtProviderFactory } from './factory.js';
export { Keyring } from './keyring.js';
export { JWT_ALGORITHMS, type JwtAlgorithm, type PublicJwk } from './lib/signing-key.js';
export {
  type JwtCeiling,
  type JwtScope,
  jwtCeilingSchema,
  jwtScopeSchema,
  jwtWithin,
} from './scope.js';
export type { ActorClaim, ReissuableClaims, TaskClaim } from './token.js';
