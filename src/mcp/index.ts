export { MAX_TOKEN_BYTES, type VerifiedAccessToken } from './access-token.js';
export {
  BrokerClientCredentials,
  type BrokerClientCredentialsOptions,
} from './client-credentials.js';
export {
  type DownstreamCredential,
  DownstreamExchangeError,
  type DownstreamRequest,
  exchangeForDownstream,
} from './exchange.js';
export { createMcpGuard, type GuardOutcome, type McpCaller, type McpGuard } from './guard.js';
export { honoMcpGuard } from './hono.js';
export { metadataPaths, metadataUrl } from './metadata.js';
export { type CallerAuthInfo, type GuardedRequest, nodeMcpGuard } from './node.js';
export {
  BROKER_ALGORITHMS,
  type BrokerAlgorithm,
  MAX_REVOCATION_ENTRIES,
  MAX_REVOCATION_TTL_MS,
  type McpGuardOptions,
} from './options.js';
export type { Refusal, RefusalReason } from './refusal.js';
export type { McpSsfOptions, RevocationSignal } from './ssf-receiver.js';
export { mcpTaskId } from './task.js';
