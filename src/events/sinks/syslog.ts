// Temporary: src/server.ts and bench/lib/wiring.ts import the sinks from this old path until
// they build them through the sink registry; then this file goes.
export * from './syslog/index.js';
