import type { PostgresTargetConfig } from '../config.js';
import type { AdminPools } from './pools.js';

/** What every operation of one configured `postgres` target shares. */
export interface PostgresTarget {
  readonly config: PostgresTargetConfig;
  readonly pools: AdminPools;
  /** Secrets of the target itself (the admin URL and its password), scrubbed from errors. */
  readonly secrets: readonly string[];
}
