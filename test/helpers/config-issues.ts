import { ConfigError } from '../../src/config/load.js';

/** The issues of the ConfigError `fn` throws; fails when it throws nothing or something else. */
export function configIssues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('expected a ConfigError');
}
