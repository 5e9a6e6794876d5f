export { type RedisStreamSinkOptions, redisStreamSink, STREAM_FIELD } from './create-sink.js';
export { type StreamLag, streamGroups, streamLag } from './stream-groups.js';
