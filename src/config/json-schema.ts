import { z } from 'zod';
import { providerFactories } from '../../providers/registry.js';
import { auditSigningSchema } from '../events/signing/config.js';
import { sinkFactories } from '../events/sinks/registry.js';
import { configSchema } from './schema.js';

/**
 * The config file's JSON Schema, for editors (`# yaml-language-server: $schema=…`) and CI
 * linters. The runtime schema keeps targets and sinks loose because each provider and sink
 * kind owns its own; here they are put back in, so an editor checks a target's fields too.
 * `io: 'input'` describes what is written (durations as `30s`), not what is parsed.
 */
export function configJsonSchema(): Record<string, unknown> {
  const targets = Object.values(providerFactories).map((factory) => factory.config);
  const [first, ...rest] = targets;
  const events = configSchema.shape.events.unwrap();
  const full = configSchema.extend({
    targets:
      first === undefined
        ? configSchema.shape.targets
        : z.array(z.union([first, ...rest])).default([]),
    events: events
      .extend({
        stdout: sinkFactories.stdout.config.optional(),
        redis_stream: sinkFactories['redis-stream'].config.optional(),
        http: z.array(sinkFactories.http.config).optional(),
        syslog: z.array(sinkFactories.syslog.config).optional(),
        signing: auditSigningSchema.optional(),
      })
      .optional(),
  });
  return {
    ...z.toJSONSchema(full, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }),
    title: 'jit-broker configuration',
  };
}
