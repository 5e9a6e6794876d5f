import type { Provider, RenewRequest, RenewResult, RevocationHandle } from '../provider.js';

/**
 * A provider that creates one server-side account per lease (a database login, an ACL user):
 * it always answers renewal, sweeps accounts whose lease is gone, and holds admin
 * connections to close.
 */
export interface AccountProvider<Scope, Ceiling, Credential>
  extends Provider<Scope, Ceiling, Credential> {
  renew(handle: RevocationHandle, req: RenewRequest<Scope>): Promise<RenewResult<Credential>>;
  sweep(isLive: (leaseId: string) => Promise<boolean>, graceMs: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * `providerExpiresAt` of an account the server never expires, so nothing there ends the login
 * if the broker is gone: Redis ACL users have no expiry, and MySQL/MariaDB password lifetimes
 * count in days and only lock the account into a sandbox. The latest time a JS `Date` can hold
 * says "no backstop" without claiming one that does not exist.
 */
export const NO_PROVIDER_EXPIRY = 8_640_000_000_000_000;
