import pg from 'pg';

const POOL_MAX = 4;

/**
 * One small pool per database, all as the admin role. The admin URL names one database;
 * the others reuse its credentials with the path swapped, because `pg` lets a
 * connection string's fields override separate options.
 */
export class AdminPools {
  readonly #adminUrl: string;
  readonly #adminDatabase: string;
  readonly #pools = new Map<string, pg.Pool>();
  #closed = false;

  constructor(adminUrl: string) {
    this.#adminUrl = adminUrl;
    this.#adminDatabase = decodeURIComponent(new URL(adminUrl).pathname.slice(1));
  }

  /** The pool of the admin URL's own database (shared catalogs: roles, sessions). */
  admin(): pg.Pool {
    return this.#pool(this.#adminDatabase);
  }

  /** The pool of a named database (per-database objects: REASSIGN/DROP OWNED). */
  database(name: string): pg.Pool {
    return this.#pool(name);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((pool) => pool.end()));
  }

  #pool(database: string): pg.Pool {
    if (this.#closed) throw new Error('provider is closed');
    let pool = this.#pools.get(database);
    if (pool === undefined) {
      const url = new URL(this.#adminUrl);
      if (database !== '') url.pathname = `/${encodeURIComponent(database)}`;
      pool = new pg.Pool({
        connectionString: url.toString(),
        max: POOL_MAX,
        connectionTimeoutMillis: 5_000,
        idleTimeoutMillis: 30_000,
        statement_timeout: 15_000,
        application_name: 'jit-broker',
      });
      // An idle client that loses its server emits here; without a listener it crashes the process.
      pool.on('error', () => {});
      this.#pools.set(database, pool);
    }
    return pool;
  }
}
