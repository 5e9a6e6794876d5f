import { ExpiringCache } from './expiring-cache.js';
import { type FetchLike, type FetchPolicy, fetchableUrl, fetchJson } from './fetch-json.js';
import { fetchPolicyFor } from './key-source.js';
import { Rejection } from './rejection.js';

export interface TokenReviewSettings {
  readonly api_server: string;
  readonly bearer_token_file: string;
  readonly ca_file?: string | undefined;
  /** Milliseconds an answer is reused for the same token. */
  readonly cache: number;
}

const MAX_CACHED_REVIEWS = 10_000;

interface Review {
  readonly authenticated: boolean;
  readonly username: unknown;
  readonly audiences: unknown;
}

function reviewFrom(document: Record<string, unknown>): Review {
  const status = document.status as Record<string, unknown> | undefined;
  const user = status?.user as Record<string, unknown> | undefined;
  return {
    authenticated: status?.authenticated === true,
    username: user?.username,
    audiences: status?.audiences,
  };
}

/**
 * Confirms a Kubernetes token with the API server (authentication.k8s.io/v1 TokenReview).
 * A signature cannot tell that the pod or service account a token was bound to is gone;
 * the API server can. Answers are reused briefly per token hash; a failed call is not an
 * answer, and the token is refused (fail closed).
 */
export class TokenReviewer {
  readonly #url: string;
  readonly #policy: FetchPolicy;
  readonly #audience: string;
  readonly #cacheMs: number;
  readonly #now: () => number;
  readonly #answers = new ExpiringCache<boolean>(MAX_CACHED_REVIEWS);

  constructor(
    settings: TokenReviewSettings,
    context: {
      audience: string;
      allowInsecureLoopback: boolean;
      fetch: FetchLike;
      now: () => number;
    },
  ) {
    const base = settings.api_server.replace(/\/+$/, '');
    this.#url = `${base}/apis/authentication.k8s.io/v1/tokenreviews`;
    this.#policy = fetchPolicyFor(
      {
        allow_insecure_loopback: context.allowInsecureLoopback,
        ca_file: settings.ca_file,
        bearer_token_file: settings.bearer_token_file,
      },
      context.fetch,
    );
    fetchableUrl(this.#url, this.#policy.allowInsecureLoopback);
    this.#audience = context.audience;
    this.#cacheMs = settings.cache;
    this.#now = context.now;
  }

  /** Throws a Rejection unless the API server vouches for this token and subject now. */
  async confirm(token: string, tokenHash: string, subject: string): Promise<void> {
    const now = this.#now();
    let accepted = this.#answers.get(tokenHash, now);
    if (accepted === undefined) {
      accepted = await this.#review(token, subject);
      this.#answers.set(tokenHash, accepted, now + this.#cacheMs, now);
    }
    if (!accepted) {
      throw new Rejection(
        'token_review_refused',
        'the Kubernetes API server does not vouch for the token',
      );
    }
  }

  async #review(token: string, subject: string): Promise<boolean> {
    let document: Record<string, unknown>;
    try {
      document = await fetchJson(this.#url, this.#policy, {
        method: 'POST',
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token, audiences: [this.#audience] },
        },
      });
    } catch (err) {
      throw new Rejection('token_review_failed', `TokenReview failed: ${(err as Error).message}`);
    }
    const review = reviewFrom(document);
    const audiences = review.audiences;
    return (
      review.authenticated &&
      review.username === subject &&
      (audiences === undefined || (Array.isArray(audiences) && audiences.includes(this.#audience)))
    );
  }
}
