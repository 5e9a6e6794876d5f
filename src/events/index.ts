export { EventBus, type EventBusOptions, type EventBusStats, type SinkStats } from './bus.js';
export { canonicalize } from './canonical.js';
export {
  type ChainVerification,
  type Ed25519PublicJwk,
  EventChain,
  eventHash,
  verifyChain,
} from './chain.js';
export { type OcsfEvent, toOcsf } from './ocsf.js';
export { isSecretKey, REDACTED, redactEvent } from './redact.js';
export type { EventFormat, EventSink, SinkMode } from './sink.js';
export {
  createSinks,
  readSinkConfigs,
  SINK_KINDS,
  type SinkDeps,
  type SinkKind,
} from './sinks/index.js';
export { redisStreamSink, type StreamLag, streamLag } from './sinks/redis-stream/index.js';
export { stdoutSink } from './sinks/stdout/index.js';
