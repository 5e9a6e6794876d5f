import type { ProviderFactory, ProviderKind } from '../provider.js';
import { mysqlTargetSchema } from './config.js';
import { createMysqlProvider } from './create-provider.js';

export const mysqlProviderFactory: ProviderFactory = {
  kind: 'mysql',
  config: mysqlTargetSchema,
  create(config, ctx) {
    const parsed = mysqlTargetSchema.safeParse(config);
    if (!parsed.success) {
      const name = (config as { name?: unknown } | null)?.name;
      const target = typeof name === 'string' ? name : '?';
      // Issues name paths and rules, never values: admin_url carries a password.
      const problems = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ');
      throw new TypeError(`mysql target "${target}": ${problems}`);
    }
    return createMysqlProvider(parsed.data, ctx);
  },
};
