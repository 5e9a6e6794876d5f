export { type StdoutSinkOptions, stdoutSink } from './create-sink.js';
