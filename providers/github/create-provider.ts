import { createAppAuth } from '@octokit/auth-app';
import { request as octokitRequest } from '@octokit/request';
import { RequestError } from '@octokit/request-error';
import { scrubSecrets } from '../../src/lib/scrub-secrets.js';
import {
  type Health,
  type Minted,
  type MintRequest,
  type Provider,
  ProviderError,
  type RevocationHandle,
} from '../provider.js';
import type { GithubTargetConfig } from './config.js';
import {
  type GithubCeiling,
  type GithubLevel,
  type GithubScope,
  githubCeilingSchema,
  githubScopeSchema,
  githubTierAllows,
  githubWithin,
  nameOf,
  ownerOf,
} from './scope.js';
import { suggestGithubCeiling } from './suggest.js';
import { verifyInstallationTokenGone } from './verify.js';

export interface GithubCredential {
  /** An installation access token (`ghs_…`); send it as `Authorization: token …`. */
  token: string;
  token_type: 'token';
  repositories: string[];
  permissions: Record<string, GithubLevel>;
  /** ISO 8601: the earlier of the lease's expiry and GitHub's own (one hour). */
  expires_at: string;
}

export type GithubProvider = Provider<GithubScope, GithubCeiling, GithubCredential> & {
  readonly kind: 'github';
};

/** GitHub documents installation tokens of up to this many characters. */
const MAX_TOKEN_LENGTH = 1024;

interface AccessToken {
  token?: unknown;
  expires_at?: unknown;
  permissions?: Record<string, string>;
  repository_selection?: unknown;
  repositories?: { full_name?: unknown }[];
}

export function createGithubProvider(config: GithubTargetConfig): GithubProvider {
  const target = config.name;
  const request = octokitRequest.defaults({
    baseUrl: config.base_url.replace(/\/+$/, ''),
    headers: { 'user-agent': 'jit-broker', 'x-github-api-version': '2022-11-28' },
    request: {
      fetch: (url: string, init: RequestInit) =>
        fetch(url, { ...init, signal: AbortSignal.timeout(config.timeout_ms) }),
    },
  });
  // Only ever asked for App JWTs: installation tokens are requested directly (see `mint`), so
  // auth-app's token cache never holds one.
  const appAuth = createAppAuth({
    appId: config.app_id,
    privateKey: config.private_key,
    installationId: config.installation_id,
    request,
    log: { warn: () => {} },
  });
  const fail = (op: string, err: unknown, secrets: readonly string[] = []) =>
    toProviderError(target, op, err, [config.private_key, ...secrets]);

  return {
    kind: 'github',
    target,
    // An installation token is an opaque bearer token GitHub accepts as such.
    bearerTokenType: 'access_token',
    scope: githubScopeSchema,
    ceiling: githubCeilingSchema,
    within: githubWithin,
    suggestCeiling: suggestGithubCeiling,
    tierAllows: githubTierAllows,
    revokeConcurrency: config.revoke_concurrency,
    // GitHub ends an installation access token one hour after it is created.
    maxTtlMs: 3_600_000,

    async mint(req: MintRequest<GithubScope>): Promise<Minted<GithubCredential>> {
      const { scope } = req;
      const owner = ownerOf(scope.repositories[0] as string);
      if (config.owner !== undefined && owner.toLowerCase() !== config.owner.toLowerCase()) {
        throw new ProviderError(
          'invalid_scope',
          `target ${target} holds repositories of "${config.owner}" only`,
          false,
        );
      }
      let minted: AccessToken;
      try {
        minted = await installationToken(scope.repositories.map(nameOf), scope.permissions);
      } catch (err) {
        throw fail('mint', err);
      }
      const { token } = minted;
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        throw new ProviderError(
          'provider_rejected',
          `GitHub answered ${target} with no usable token`,
          true,
        );
      }
      // GitHub grants what it was asked or refuses; anything else is not what policy allowed.
      const granted = grantMismatch(scope, minted);
      if (granted !== undefined) {
        const revoked = await revokeToken(token).then(
          () => 'it was revoked',
          (err: unknown) =>
            err instanceof RequestError && err.status === 401
              ? 'it was revoked'
              : `revoking it failed too (${fail('revoke', err, [token]).message}); GitHub's expiry ends it`,
        );
        throw new ProviderError(
          'provider_rejected',
          `GitHub granted ${target} a token ${granted}; ${revoked}`,
          false,
        );
      }
      const githubExpiry =
        typeof minted.expires_at === 'string' ? Date.parse(minted.expires_at) : Number.NaN;
      const providerExpiresAt = Number.isFinite(githubExpiry) ? githubExpiry : req.expiresAt;
      return {
        credential: {
          token,
          token_type: 'token',
          repositories: scope.repositories,
          permissions: scope.permissions,
          expires_at: new Date(Math.min(req.expiresAt, providerExpiresAt)).toISOString(),
        },
        // The token is its own revocation key: a secret, sealed with the lease.
        handle: { token },
        providerExpiresAt,
      };
    },

    async revoke(handle: RevocationHandle): Promise<void> {
      const token = handle.token;
      // A lease whose mint never returned has no token, and nothing at GitHub to revoke.
      if (token === undefined) return;
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        throw new ProviderError(
          'provider_rejected',
          'the lease handle holds no GitHub token',
          false,
        );
      }
      try {
        await revokeToken(token);
      } catch (err) {
        // 401: the token is already revoked or expired, which is what revocation wants.
        if (err instanceof RequestError && err.status === 401) return;
        throw fail('revoke', err, [token]);
      }
    },

    verifyRevoked: (handle) => verifyInstallationTokenGone(config, handle),

    async check(): Promise<Health> {
      try {
        const app = await appAuth({ type: 'app' });
        const { data } = await request('GET /app/installations/{installation_id}', {
          installation_id: config.installation_id,
          headers: { authorization: `bearer ${app.token}` },
        });
        const login = (data.account as { login?: string } | null)?.login ?? '?';
        if (config.owner !== undefined && login.toLowerCase() !== config.owner.toLowerCase()) {
          return { ok: false, detail: `installation belongs to "${login}", not "${config.owner}"` };
        }
        return { ok: true, detail: `installation ${config.installation_id} of ${login}` };
      } catch (err) {
        return { ok: false, detail: fail('check', err).message };
      }
    },
  };

  /**
   * One new installation token, asked of GitHub directly. Not through auth-app's
   * `type: 'installation'`: it merges concurrent identical requests process-wide (keyed
   * without the App id or the base URL), which would hand two leases one token.
   */
  async function installationToken(
    repositories: string[],
    permissions: Record<string, GithubLevel>,
  ): Promise<AccessToken> {
    const app = await appAuth({ type: 'app' });
    const { data } = await request('POST /app/installations/{installation_id}/access_tokens', {
      installation_id: config.installation_id,
      repositories,
      permissions,
      headers: { authorization: `bearer ${app.token}` },
    });
    return data as AccessToken;
  }

  async function revokeToken(token: string): Promise<void> {
    await request('DELETE /installation/token', { headers: { authorization: `token ${token}` } });
  }
}

/**
 * Why the token GitHub made is not the one asked for, or undefined when it is. Repositories
 * compare by full name, so a token for another owner's repository of the same name never
 * passes. GitHub adds `metadata: read` to tokens (repository access implies it), so an
 * unrequested `metadata: read` is no difference.
 */
function grantMismatch(scope: GithubScope, minted: AccessToken): string | undefined {
  const got = { ...(minted.permissions ?? {}) };
  if (scope.permissions.metadata === undefined && got.metadata === 'read') delete got.metadata;
  const sorted = (p: Record<string, string>) =>
    JSON.stringify(Object.entries(p).sort(([x], [y]) => x.localeCompare(y)));
  if (sorted(scope.permissions) !== sorted(got)) return 'with other permissions';
  if (minted.repository_selection !== 'selected') return 'for every repository';
  const want = scope.repositories.map((r) => r.toLowerCase()).sort();
  const have = (minted.repositories ?? []).map((r) => String(r.full_name).toLowerCase()).sort();
  if (JSON.stringify(want) !== JSON.stringify(have)) return 'for other repositories';
  return undefined;
}

/**
 * GitHub's answer as a ProviderError: rate limits and server errors are retryable; a rejected
 * App JWT or a missing installation is configuration; 422 is a scope GitHub will not grant.
 */
function toProviderError(
  target: string,
  op: string,
  err: unknown,
  secrets: readonly string[],
): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof RequestError) {
    const remaining = err.response?.headers['x-ratelimit-remaining'];
    const detail = scrubSecrets(
      `GitHub answered ${op} for ${target} with ${err.status}: ${String(
        (err.response?.data as { message?: unknown } | undefined)?.message ?? err.message,
      )}`,
      secrets,
    ).slice(0, 300);
    const retryAfter = err.response?.headers['retry-after'];
    const limited = remaining === '0' || retryAfter !== undefined;
    if (err.status === 429 || (err.status === 403 && limited)) {
      return new ProviderError('provider_unavailable', detail, true);
    }
    if (err.status >= 500) return new ProviderError('provider_unavailable', detail, true);
    if (err.status === 401 || err.status === 404) {
      return new ProviderError('provider_misconfigured', detail, false);
    }
    // A repository the installation cannot see, a permission the App was not granted.
    if (err.status === 422) return new ProviderError('invalid_scope', detail, false);
    return new ProviderError('provider_rejected', detail, false);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError(
    'provider_unavailable',
    scrubSecrets(`GitHub ${op} for ${target} failed: ${message}`, secrets).slice(0, 300),
    true,
  );
}
