import { z } from 'zod';
import { EVENT_FORMATS, SINK_MODES } from '../../sink.js';

/** Schema pieces every sink kind's config shares. */

export const sinkMode = z.enum(SINK_MODES);

export const eventFormat = z.enum(EVENT_FORMATS);

/** Names of the fixed sinks, which a configured one may not take. */
const TAKEN_NAMES = ['stdout', 'redis_stream'];

/** A configured sink's name: its key in the bus statistics and in every error about it. */
export const sinkName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'lowercase letters, digits, "_" and "-"')
  .refine((n) => !TAKEN_NAMES.includes(n), 'stdout and redis_stream are taken');
