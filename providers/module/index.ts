import { z } from 'zod';
import { targetBaseSchema } from '../../src/config/schema.js';
import type { Provider, ProviderContext, ProviderFactory } from '../provider.js';

/**
 * A target whose provider is code loaded from a path: `provider: module`,
 * `module: /opt/jit/providers/vault-kv.js`. The module's default export (or its
 * `providerFactory` export) is a factory `{ create(config, ctx) }` returning a Provider.
 * Loading code named in a config file is refused unless `serve --allow-provider-modules`.
 */
export const moduleTargetSchema = z.looseObject({
  name: targetBaseSchema.shape.name,
  provider: z.literal('module'),
  module: z.string().min(1),
});

export interface ProviderModule {
  create(config: Record<string, unknown>, ctx: ProviderContext): Provider;
}

export const moduleProviderFactory: ProviderFactory = {
  kind: 'module',
  config: moduleTargetSchema,
  create(config, ctx) {
    const target = moduleTargetSchema.parse(config);
    const loaded = ctx.modules?.get(target.module);
    if (!loaded) {
      throw new TypeError(
        `provider module ${target.module} is not loaded: start serve with --allow-provider-modules to load code named in the config`,
      );
    }
    const provider = loaded.create(target, ctx);
    if (provider.kind !== 'module' || provider.target !== target.name) {
      throw new TypeError(
        `provider module ${target.module} must return kind "module" and target "${target.name}"`,
      );
    }
    return provider;
  },
};

function isProviderModule(value: unknown): value is ProviderModule {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ProviderModule).create === 'function'
  );
}

/** Imports every module named by a `module` target. Only called when loading is allowed. */
export async function loadProviderModules(
  targets: readonly { provider: string; module?: unknown }[],
  resolvePath: (path: string) => string,
): Promise<Map<string, ProviderModule>> {
  const modules = new Map<string, ProviderModule>();
  for (const target of targets) {
    if (
      target.provider !== 'module' ||
      typeof target.module !== 'string' ||
      modules.has(target.module)
    )
      continue;
    const loaded = (await import(resolvePath(target.module))) as {
      default?: unknown;
      providerFactory?: unknown;
    };
    const factory = isProviderModule(loaded.providerFactory)
      ? loaded.providerFactory
      : loaded.default;
    if (!isProviderModule(factory)) {
      throw new TypeError(
        `provider module ${target.module} exports no factory with create(config, ctx)`,
      );
    }
    modules.set(target.module, factory);
  }
  return modules;
}
