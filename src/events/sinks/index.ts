export { createSinks, readSinkConfigs, type SinkConfig } from './create-sinks.js';
export { sinkFactories } from './registry.js';
export {
  type EventsSection,
  SINK_KINDS,
  type SinkDeps,
  type SinkEntry,
  type SinkFactory,
  type SinkKind,
  type SinkSection,
} from './sink-factory.js';
