/**
 * An OAuth client for MCP's client-credentials extension, shaped as the MCP SDK's
 * `OAuthClientProvider` (structurally: this package does not depend on the SDK). Pass it as
 * `authProvider` to the SDK's `StreamableHTTPClientTransport`: on the server's 401 the SDK
 * reads the protected-resource metadata, finds the broker, and asks its token endpoint for
 * `grant_type=client_credentials` with this workload's identity JWT as `client_assertion`
 * (RFC 7523 §2.2), the resource (RFC 8707) and the task the calls belong to.
 */
export interface BrokerClientCredentialsOptions {
  /** The workload id the broker maps this client's identity to (sent as `client_id`). */
  clientId: string;
  /**
   * The client assertion, asked for on every token request: the workload's identity JWT
   * (`tokenFile(...)` from `jit-broker/client`), or a JWT signed with a key registered for
   * the client, for which the authorization server's issuer is the audience.
   */
  assertion: (authorizationServer: { issuer: string | undefined }) => string | Promise<string>;
  /**
   * The broker's issuer URL: the assertion is only ever sent there, whatever authorization
   * server an MCP server's metadata names (the SDK refuses to present it elsewhere).
   */
  expectedIssuer: string;
  /** The task the token is for (`task_id`, `task_intent`). */
  task: { id: string; intent: string; tool?: string };
  /**
   * Scopes to ask for. Default: the `scopes_supported` of the server's protected-resource
   * metadata (the SDK hands the token request no other scope in this flow).
   */
  scope?: string;
}

interface StoredTokens {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  [key: string]: unknown;
}

/** What the SDK learned from discovery; kept so a later token request skips it. */
interface DiscoveryState {
  authorizationServerUrl: string;
  resourceMetadata?: { scopes_supported?: string[] | undefined } | undefined;
}

const CLIENT_ASSERTION_JWT = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export class BrokerClientCredentials {
  readonly #options: BrokerClientCredentialsOptions;
  #tokens: StoredTokens | undefined;
  #discovery: DiscoveryState | undefined;
  #clientInformation: { client_id: string; issuer: string };

  constructor(options: BrokerClientCredentialsOptions) {
    if (typeof options.assertion !== 'function')
      throw new TypeError('BrokerClientCredentials: assertion must be a function');
    if (!/^https?:\/\//.test(options.expectedIssuer))
      throw new TypeError('BrokerClientCredentials: expectedIssuer must be the broker issuer URL');
    this.#options = options;
    this.#clientInformation = { client_id: options.clientId, issuer: options.expectedIssuer };
  }

  get redirectUrl(): undefined {
    return undefined;
  }

  get clientMetadata() {
    return {
      client_name: this.#options.clientId,
      redirect_uris: [] as string[],
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'private_key_jwt',
      ...(this.#options.scope === undefined ? {} : { scope: this.#options.scope }),
    };
  }

  clientInformation() {
    return this.#clientInformation;
  }

  saveClientInformation(info: { client_id: string; issuer?: string }): void {
    this.#clientInformation = { ...info, issuer: info.issuer ?? this.#options.expectedIssuer };
  }

  tokens(): StoredTokens | undefined {
    return this.#tokens;
  }

  saveTokens(tokens: StoredTokens): void {
    this.#tokens = tokens;
  }

  /** Forgets the token, e.g. after the server refused it (revoked): the next call asks anew. */
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
  }

  /** The SDK reports what discovery found; the metadata's scopes are the default to ask. */
  saveDiscoveryState(state: DiscoveryState): void {
    this.#discovery = state;
  }

  redirectToAuthorization(): void {
    throw new Error('client credentials never redirect to an authorization endpoint');
  }

  saveCodeVerifier(): void {}

  codeVerifier(): string {
    throw new Error('client credentials use no PKCE verifier');
  }

  prepareTokenRequest(scope?: string): URLSearchParams {
    const { task } = this.#options;
    const params = new URLSearchParams({
      grant_type: 'client_credentials',
      task_id: task.id,
      task_intent: task.intent,
    });
    if (task.tool !== undefined) params.set('task_tool', task.tool);
    const asked =
      scope ??
      this.#options.scope ??
      this.#discovery?.resourceMetadata?.scopes_supported?.join(' ') ??
      undefined;
    if (asked !== undefined) params.set('scope', asked);
    return params;
  }

  /** RFC 7523 §2.2: the one client authentication the broker takes; no secret, no header. */
  addClientAuthentication = async (
    _headers: Headers,
    params: URLSearchParams,
    url: string | URL,
    metadata?: { issuer?: string },
  ): Promise<void> => {
    // Checked here whatever the SDK checks (older ones check nothing): the assertion is a
    // credential the broker accepts, so it never goes to another origin or issuer.
    const expected = new URL(this.#options.expectedIssuer);
    const sameIssuer = (issuer: string) => {
      try {
        return new URL(issuer).href.replace(/\/$/, '') === expected.href.replace(/\/$/, '');
      } catch {
        return false;
      }
    };
    if (
      new URL(url).origin !== expected.origin ||
      (metadata?.issuer !== undefined && !sameIssuer(metadata.issuer))
    ) {
      throw new Error(`the client assertion is only sent to the broker at ${expected.origin}`);
    }
    params.set('client_id', this.#options.clientId);
    params.set('client_assertion_type', CLIENT_ASSERTION_JWT);
    params.set('client_assertion', await this.#options.assertion({ issuer: metadata?.issuer }));
  };
}
