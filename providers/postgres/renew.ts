import pg from 'pg';
import { ProviderError } from '../provider.js';
import { isUndefinedObject, toProviderError } from './lib/errors.js';
import type { PostgresTarget } from './lib/target.js';

/** Moves the role's `VALID UNTIL`, the backstop that holds when the broker is gone. */
export async function renewLoginRole(
  target: PostgresTarget,
  role: string,
  expiresAt: number,
): Promise<void> {
  const { config } = target;
  if (!(expiresAt > Date.now())) {
    throw new ProviderError('provider_rejected', 'expiry is in the past', false);
  }
  try {
    // A role being revoked (NOLOGIN) stays unable to log in whatever its VALID UNTIL says.
    await target.pools
      .admin()
      .query(
        `ALTER ROLE ${pg.escapeIdentifier(role)} VALID UNTIL ${pg.escapeLiteral(new Date(expiresAt).toISOString())}`,
      );
  } catch (err) {
    if (isUndefinedObject(err)) {
      throw new ProviderError(
        'not_renewable',
        `postgres target "${config.name}": the login role is gone`,
        false,
      );
    }
    throw toProviderError(config.name, 'renew', err, target.secrets);
  }
}
