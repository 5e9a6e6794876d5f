import { z } from 'zod';
import { eventFormat, sinkMode } from '../lib/config.js';

/** `events.stdout`: one JSON document per line on the broker's stdout. */
export const stdoutSinkSchema = z
  .object({
    enabled: z.boolean().default(true),
    format: eventFormat.default('json'),
    mode: sinkMode.default('best_effort'),
  })
  .strict();
export type StdoutSinkConfig = z.infer<typeof stdoutSinkSchema>;
