import { z } from '@hono/zod-openapi';
import {
  CLIENT_ASSERTION_JWT,
  GRANT_CLIENT_CREDENTIALS,
  GRANT_JWT_BEARER,
  GRANT_TOKEN_EXCHANGE,
  TARGET_URN,
  TOKEN_TYPE_ID_TOKEN,
  TOKEN_TYPE_JWT,
} from './urns.js';

/**
 * What the OpenAPI document shows of `/oauth/token`. The handler does not validate with
 * these: RFC 6749 wants its own error format and duplicate-parameter rule (see `form.ts`).
 */
export const TokenRequestSchema = z
  .object({
    grant_type: z.enum([GRANT_TOKEN_EXCHANGE, GRANT_JWT_BEARER, GRANT_CLIENT_CREDENTIALS]),
    client_assertion_type: z.literal(CLIENT_ASSERTION_JWT).optional(),
    client_assertion: z.string().optional().openapi({
      description:
        'client_credentials and ID-JAG: the client (workload) identity JWT, RFC 7523 §2.2',
    }),
    client_id: z
      .string()
      .optional()
      .openapi({ description: 'When sent with a client_assertion: the workload id it proves' }),
    subject_token: z
      .string()
      .optional()
      .openapi({ description: 'token-exchange: the workload identity JWT' }),
    subject_token_type: z.enum([TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN]).optional(),
    assertion: z.string().optional().openapi({
      description:
        'jwt-bearer: the workload identity JWT, or (with a client_assertion) an ID-JAG of typ oauth-id-jag+jwt',
    }),
    actor_token: z
      .string()
      .optional()
      .openapi({ description: 'A signed task or user assertion from a configured issuer' }),
    actor_token_type: z.enum([TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN]).optional(),
    resource: z
      .string()
      .optional()
      .openapi({
        description: `Canonical URI of a configured resource (RFC 8707; the token's aud), a target name, or ${TARGET_URN}<name>`,
      }),
    audience: z.string().optional().openapi({ description: 'Target name' }),
    scope: z.string().optional().openapi({
      description:
        'Space-separated; see the README for each provider. Required except for ID-JAG (default: the asserted scopes)',
    }),
    requested_token_type: z.string().optional(),
    task_id: z.string(),
    task_intent: z.string(),
    task_tool: z.string().optional(),
  })
  .openapi('TokenExchangeRequest');

export const TokenResponseSchema = z
  .object({
    access_token: z.string(),
    issued_token_type: z.string(),
    token_type: z.enum(['Bearer', 'N_A']),
    expires_in: z.number().int(),
    scope: z.string().optional(),
    lease_id: z.string(),
    target: z.string(),
    provider: z.string(),
    expires_at: z.string(),
  })
  .openapi('TokenExchangeResponse');

export const OAuthErrorSchema = z
  .object({ error: z.string(), error_description: z.string().optional() })
  .openapi('OAuthError');
