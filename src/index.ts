/**
 * The package's server entry (`import … from 'jit-broker'`): start a broker in process
 * from a validated configuration. Everything else under src/ is internal and may change
 * between minor versions; the SDK for workloads is `jit-broker/client`.
 */
export {
  ConfigError,
  loadConfigFile,
  parseConfig,
} from './config/load.js';
export type { BrokerConfig } from './config/schema.js';
export { createLogger, type Logger } from './lib/logger.js';
export {
  type Instrumentation,
  type RunningBroker,
  type StartOptions,
  startBroker,
} from './server.js';
