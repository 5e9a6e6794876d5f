export { type SyslogSinkOptions, syslogSink } from './create-sink.js';
export { cefMessage } from './format/cef.js';
export {
  DEFAULT_APP_NAME,
  DEFAULT_FACILITY,
  formatSyslog,
  SD_ID,
  type SyslogFormat,
  type SyslogMessageOptions,
} from './format/rfc5424.js';
export type { SyslogTlsOptions } from './transport/stream.js';
export { MAX_UDP_MESSAGE } from './transport/udp.js';
