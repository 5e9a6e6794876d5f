import { z } from 'zod';
import { duration } from '../../../config/duration.js';
import { eventFormat, sinkMode, sinkName } from '../lib/config.js';

/** An entry of `events.syslog`: RFC 5424 over UDP (RFC 5426), TCP (RFC 6587) or TLS (RFC 5425). */
export const syslogSinkSchema = z
  .object({
    name: sinkName,
    host: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65_535),
    transport: z.enum(['udp', 'tcp', 'tls']).default('tls'),
    format: z.enum([...eventFormat.options, 'cef']).default('json'),
    mode: sinkMode.default('best_effort'),
    /** 0–23; 10 is authpriv. */
    facility: z.number().int().min(0).max(23).default(10),
    app_name: z.string().min(1).max(48).default('jit-broker'),
    timeout: duration.default(5_000),
    tls: z
      .object({
        /** PEM of the CA that signs the collector's certificate (default: the system CAs). */
        ca: z.string().min(1).optional(),
        servername: z.string().min(1).optional(),
        reject_unauthorized: z.boolean().default(true),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((s) => !(s.transport === 'udp' && s.mode === 'required'), {
    message: 'UDP gives no delivery feedback: a required syslog sink needs tcp or tls',
    path: ['mode'],
  });
export type SyslogSinkConfig = z.infer<typeof syslogSinkSchema>;
