import type { ProviderFactory, ProviderKind } from '../provider.js';
import { redisTargetSchema } from './config.js';
import { createRedisAclProvider } from './create-provider.js';

export const redisProviderFactory: ProviderFactory = {
  kind: 'redis',
  config: redisTargetSchema,
  create(config, ctx) {
    const parsed = redisTargetSchema.safeParse(config);
    if (!parsed.success) {
      const name = (config as { name?: unknown } | null)?.name;
      const target = typeof name === 'string' ? name : '?';
      // Issues name paths and rules, never values: admin_password is a secret.
      const problems = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ');
      throw new TypeError(`redis target "${target}": ${problems}`);
    }
    return createRedisAclProvider(parsed.data, ctx);
  },
};
