export { type HttpSinkOptions, httpSink } from './create-sink.js';
export { HttpSinkError } from './lib/exchange.js';
export type { HecOptions } from './splunk-hec.js';
export { BATCH_HEADER } from './webhook.js';
