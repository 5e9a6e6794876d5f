import { ProviderError, type RevocationHandle, type RevocationProof } from '../provider.js';
import type { GithubTargetConfig } from './config.js';

/**
 * Proof that an installation token is gone: GitHub is asked with the token itself for the
 * repositories it reaches (one per page). `401 Bad credentials` is the answer a revoked or
 * expired token gets; any 2xx means the token still works. The token never leaves this call.
 * A handle without a token proves nothing.
 */
export async function verifyInstallationTokenGone(
  config: GithubTargetConfig,
  handle: RevocationHandle,
): Promise<RevocationProof> {
  const token = handle.token;
  if (token === undefined) {
    // A token GitHub issued to a mint that never returned (crash or timeout before the lease
    // was activated) works for up to an hour and is not in the handle: nothing can be checked.
    return {
      gone: false,
      evidence:
        'no token in the lease: a token issued to a mint that never returned cannot be checked',
    };
  }
  if (typeof token !== 'string' || token.length === 0) {
    throw new ProviderError('provider_rejected', 'the lease handle holds no GitHub token', false);
  }
  const url = `${config.base_url.replace(/\/+$/, '')}/installation/repositories?per_page=1`;
  let status: number;
  try {
    const answer = await fetch(url, {
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `token ${token}`,
        'user-agent': 'jit-broker',
        'x-github-api-version': '2022-11-28',
      },
      signal: AbortSignal.timeout(config.timeout_ms),
    });
    status = answer.status;
    await answer.body?.cancel();
  } catch (err) {
    const reason = err instanceof Error ? err.name : 'error';
    throw new ProviderError(
      'provider_unavailable',
      `github target "${config.name}": GET /installation/repositories failed (${reason})`,
      true,
    );
  }
  if (status === 401) {
    return { gone: true, evidence: 'GET /installation/repositories with the token answered 401' };
  }
  if (status >= 200 && status < 300) {
    return {
      gone: false,
      evidence: `GET /installation/repositories with the token answered ${status}: the token still works`,
    };
  }
  throw new ProviderError(
    'provider_unavailable',
    `github target "${config.name}": GET /installation/repositories answered ${status}`,
    status >= 500 || status === 429,
  );
}
