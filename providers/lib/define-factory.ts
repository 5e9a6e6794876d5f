import type { z } from 'zod';
import type { Provider, ProviderContext, ProviderFactory, ProviderKind } from '../provider.js';

/**
 * The factory of a provider whose target config is one zod schema: parse, then build. A bad
 * config is a `TypeError` naming the target and every failing path. Issues name paths and
 * rules, never values (zod does not echo input), so a secret in the config — an admin URL's
 * password, an admin password — cannot leak through the message.
 */
export function defineProviderFactory<Config extends { name: string; provider: ProviderKind }>(
  kind: ProviderKind,
  schema: z.ZodType<Config>,
  create: (config: Config, ctx: ProviderContext) => Provider,
): ProviderFactory {
  return {
    kind,
    config: schema,
    create(config, ctx) {
      const parsed = schema.safeParse(config);
      if (!parsed.success) {
        const name = (config as { name?: unknown } | null)?.name;
        const target = typeof name === 'string' ? name : '?';
        const problems = parsed.error.issues
          .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
          .join('; ');
        throw new TypeError(`${kind} target "${target}": ${problems}`);
      }
      return create(parsed.data, ctx);
    },
  };
}
