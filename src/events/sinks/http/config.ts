import { z } from 'zod';
import { duration } from '../../../config/duration.js';
import { REQUIRED_SINK_WAIT_MS } from '../../sink.js';
import { eventFormat, sinkMode, sinkName } from '../lib/config.js';

/** An entry of `events.http`: a webhook or a Splunk HTTP Event Collector. */
export const httpSinkSchema = z
  .object({
    name: sinkName,
    kind: z.enum(['webhook', 'splunk_hec']),
    /** webhook: where batches are POSTed; splunk_hec: the HEC base URL (`https://splunk:8088`). */
    url: z.url({ protocol: /^https?$/ }),
    /** A secret (`${env:…}`/`${file:…}`): Bearer for a webhook, the HEC token for Splunk. */
    token: z.string().min(1).optional(),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), z.string().max(1024)).optional(),
    format: eventFormat.default('json'),
    mode: sinkMode.default('best_effort'),
    timeout: duration.default(5_000),
    hec: z
      .object({
        index: z.string().min(1).optional(),
        source: z.string().min(1).optional(),
        sourcetype: z.string().min(1).optional(),
        /** Indexer acknowledgement: a batch counts only once Splunk has indexed it. */
        ack: z.boolean().default(false),
        ack_timeout: duration.default(30_000),
        channel: z.uuid().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((s) => s.kind !== 'splunk_hec' || s.token !== undefined, {
    message: 'a splunk_hec sink needs its token',
    path: ['token'],
  })
  .refine((s) => s.token === undefined || s.url.startsWith('https://') || isLoopbackUrl(s.url), {
    message: 'a token is sent over https only (or to a collector on this machine)',
    path: ['url'],
  })
  .refine(
    (s) =>
      !(s.mode === 'required' && s.hec?.ack === true && s.hec.ack_timeout > REQUIRED_SINK_WAIT_MS),
    {
      // Issuance waits this long for a required sink: a longer ack would fail every issuance.
      message: `a required sink with acknowledgement needs ack_timeout of at most ${REQUIRED_SINK_WAIT_MS / 1000}s`,
      path: ['hec', 'ack_timeout'],
    },
  );
export type HttpSinkConfig = z.infer<typeof httpSinkSchema>;

function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}
