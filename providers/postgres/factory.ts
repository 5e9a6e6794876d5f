import type { ProviderFactory } from '../provider.js';
import { postgresTargetSchema } from './config.js';
import { createPostgresProvider, POSTGRES_KIND } from './create-provider.js';

export const postgresProviderFactory: ProviderFactory = {
  kind: POSTGRES_KIND,
  config: postgresTargetSchema,
  create(config) {
    const parsed = postgresTargetSchema.safeParse(config);
    if (!parsed.success) {
      const name = (config as { name?: unknown } | null)?.name;
      const target = typeof name === 'string' ? name : '?';
      // zod messages do not echo input values, so the admin URL's password cannot leak here.
      const problems = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ');
      throw new TypeError(`postgres target "${target}": ${problems}`);
    }
    return createPostgresProvider(parsed.data);
  },
};
