import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AuthorizationServer } from '../../oauth/authorization-server.js';
import { endpointUrl } from '../../oauth/authorization-server.js';
import { routeAccess } from '../access.js';
import {
  GRANT_CLIENT_CREDENTIALS,
  GRANT_JWT_BEARER,
  GRANT_PROFILE_ID_JAG,
  GRANT_TOKEN_EXCHANGE,
} from '../oauth/urns.js';

export const authorizationServerMetadataRoute = createRoute({
  method: 'get',
  path: '/.well-known/oauth-authorization-server',
  tags: ['keys'],
  summary: 'RFC 8414 authorization server metadata',
  description:
    'What an OAuth client (an MCP client) needs to find the token, revocation and introspection endpoints and the keys. `issuer` is `server.public_url`.',
  ...routeAccess('oauth.metadata'),
  responses: {
    200: {
      description: 'Authorization server metadata',
      content: {
        'application/json': {
          schema: z
            .object({
              issuer: z.string(),
              authorization_endpoint: z.string(),
              token_endpoint: z.string(),
              jwks_uri: z.string(),
              introspection_endpoint: z.string(),
              revocation_endpoint: z.string(),
              response_types_supported: z.array(z.string()),
              grant_types_supported: z.array(z.string()),
              token_endpoint_auth_methods_supported: z.array(z.string()),
              revocation_endpoint_auth_methods_supported: z.array(z.string()),
              authorization_grant_profiles_supported: z.array(z.string()).optional(),
              scopes_supported: z.array(z.string()).optional(),
            })
            .openapi('AuthorizationServerMetadata'),
        },
      },
    },
  },
});

interface Metadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  introspection_endpoint: string;
  revocation_endpoint: string;
  response_types_supported: string[];
  grant_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  revocation_endpoint_auth_methods_supported: string[];
  authorization_grant_profiles_supported?: string[];
  scopes_supported?: string[];
}

/**
 * The RFC 8414 document. The broker has no user-facing authorization flow, so
 * `response_types_supported` is empty; `authorization_endpoint` is still named (RFC 8414 §2
 * could leave it out, but MCP clients require the member) and only answers that no response
 * type is supported. Token endpoint authentication is `private_key_jwt` (a workload's identity
 * JWT as RFC 7523 client assertion) or `none` (the grant itself is the workload's JWT).
 */
export function authorizationServerMetadata(server: AuthorizationServer): Metadata {
  const { issuer } = server;
  const scopes = [...new Set(server.resources.all.flatMap((r) => r.scopes ?? []))];
  return {
    issuer,
    authorization_endpoint: endpointUrl(issuer, '/oauth/authorize'),
    token_endpoint: endpointUrl(issuer, '/oauth/token'),
    jwks_uri: endpointUrl(issuer, '/.well-known/jwks.json'),
    introspection_endpoint: endpointUrl(issuer, '/v1/introspect'),
    revocation_endpoint: endpointUrl(issuer, '/oauth/revoke'),
    response_types_supported: [],
    grant_types_supported: [GRANT_TOKEN_EXCHANGE, GRANT_JWT_BEARER, GRANT_CLIENT_CREDENTIALS],
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'none'],
    revocation_endpoint_auth_methods_supported: ['private_key_jwt'],
    ...(server.idJag.configured
      ? { authorization_grant_profiles_supported: [GRANT_PROFILE_ID_JAG] }
      : {}),
    ...(scopes.length === 0 ? {} : { scopes_supported: scopes }),
  };
}

export function registerAuthorizationServerMetadata(app: OpenAPIHono): void {
  app.openapi(authorizationServerMetadataRoute, (c) => {
    // A reload can change resources and IdPs: caches keep it briefly.
    c.header('cache-control', 'public, max-age=60');
    return c.json(authorizationServerMetadata(c.get('services').authorizationServer()), 200);
  });
}
