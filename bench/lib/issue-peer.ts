import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';

export const PEER_RESOURCE = 'https://tickets.bench.example';
export const PEER_SCOPE = 'tickets:read';
export const PEER_BASIC_CLIENT = 'bench-basic';
export const PEER_BASIC_SECRET = 'bench-basic-secret-0123456789abcdef';
export const PEER_JWT_CLIENT = 'bench-jwt';

export interface PeerOptions {
  /** The ES256 private JWK the peer signs access tokens with. */
  signingJwk: JWK;
  /** The public JWK of the private_key_jwt client's assertion key. */
  clientJwk: JWK;
}

export interface RunningPeer {
  url: string;
  tokenUrl: string;
  close(): Promise<void>;
}

/**
 * The peer: panva's oidc-provider issuing RFC 9068 JWT access tokens through the
 * client_credentials grant, with a resource indicator (RFC 8707) naming the audience, ES256
 * signatures and its default in-memory adapter. One client authenticates with
 * client_secret_basic, the other with private_key_jwt (a fresh assertion per request).
 */
export async function startPeer(options: PeerOptions): Promise<RunningPeer> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  // Loaded here, not at the top: only the peer's process needs it (and its start-up warnings).
  const { default: Provider } = await import('oidc-provider');
  const provider = new Provider(url, {
    clients: [
      {
        client_id: PEER_BASIC_CLIENT,
        client_secret: PEER_BASIC_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: PEER_SCOPE,
      },
      {
        client_id: PEER_JWT_CLIENT,
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { keys: [options.clientJwk] },
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: PEER_SCOPE,
      },
    ],
    // Clients default to RS256 ID tokens; this provider holds an ES256 key only.
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    jwks: { keys: [{ ...options.signingJwk, alg: 'ES256', use: 'sig', kid: 'p1' }] },
    scopes: [PEER_SCOPE],
    ttl: { ClientCredentials: 600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => PEER_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: PEER_SCOPE,
          audience: PEER_RESOURCE,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
  // Refused requests would otherwise be logged to stderr by the provider's default listener.
  provider.on('server_error', () => {});
  server.on('request', provider.callback());
  return {
    url,
    tokenUrl: `${url}/token`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
