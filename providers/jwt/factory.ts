import type { ProviderFactory } from '../provider.js';
import { jwtTargetSchema } from './config.js';
import { createJwtProvider } from './create-provider.js';

export const jwtProviderFactory: ProviderFactory = {
  kind: 'jwt',
  config: jwtTargetSchema,
  create(config, ctx) {
    const parsed = jwtTargetSchema.safeParse(config);
    if (!parsed.success) {
      const name = (config as { name?: unknown } | null)?.name;
      const target = typeof name === 'string' ? name : '?';
      const problems = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ');
      throw new TypeError(`jwt target "${target}": ${problems}`);
    }
    return createJwtProvider(parsed.data, ctx);
  },
};
