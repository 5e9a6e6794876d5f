import { OAuthMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/config/schema.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';

const ISSUER = 'https://broker.test.example';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    configure(raw) {
      raw.resources = [
        { uri: 'https://tickets.test.example', target: 'tickets', scopes: ['tickets:read'] },
      ];
    },
  });
});

afterAll(async () => {
  await h.close();
});

describe('GET /.well-known/oauth-authorization-server (RFC 8414)', () => {
  it('names the issuer exactly as broker-signed tokens do, and every endpoint under it', async () => {
    const res = await h.request('/.well-known/oauth-authorization-server');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/oauth/authorize`,
      token_endpoint: `${ISSUER}/oauth/token`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      introspection_endpoint: `${ISSUER}/v1/introspect`,
      revocation_endpoint: `${ISSUER}/oauth/revoke`,
      response_types_supported: [],
      grant_types_supported: [
        'urn:ietf:params:oauth:grant-type:token-exchange',
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
        'client_credentials',
      ],
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'none'],
      revocation_endpoint_auth_methods_supported: ['private_key_jwt'],
      scopes_supported: ['tickets:read'],
    });
  });

  it('is the issuer of the tokens the token endpoint hands out', async () => {
    const res = await h.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await h.workloadToken('spiffe://test/agent-a'),
        resource: 'https://tickets.test.example',
        scope: 'tickets:read',
        task_id: 'meta-1',
        task_intent: 'triage',
      }).toString(),
    });
    const { access_token: token } = (await res.json()) as { access_token: string };
    const [, payload] = token.split('.');
    expect(JSON.parse(Buffer.from(payload as string, 'base64url').toString()).iss).toBe(ISSUER);
  });

  it('parses as the MCP TypeScript SDK reads authorization server metadata', async () => {
    const doc = await (await h.request('/.well-known/oauth-authorization-server')).json();
    const parsed = OAuthMetadataSchema.safeParse(doc);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });

  it('advertises no ID-JAG profile while no enterprise IdP is configured', async () => {
    const doc = (await (
      await h.request('/.well-known/oauth-authorization-server')
    ).json()) as Record<string, unknown>;
    expect(doc).not.toHaveProperty('authorization_grant_profiles_supported');
  });

  it('follows a configuration reload: the resources are swapped with the runtime', async () => {
    const before = h.config;
    const next: BrokerConfig = {
      ...before,
      resources: [
        { uri: 'https://tickets.test.example', target: 'tickets', scopes: ['tickets:comment'] },
      ],
    };
    h.broker.reload(next);
    try {
      const doc = (await (
        await h.request('/.well-known/oauth-authorization-server')
      ).json()) as Record<string, unknown>;
      expect(doc.scopes_supported).toEqual(['tickets:comment']);
    } finally {
      h.broker.reload(before);
    }
  });

  it('serves no OpenID configuration: the broker is no OpenID provider', async () => {
    expect((await h.request('/.well-known/openid-configuration')).status).toBe(404);
  });
});

describe('GET /oauth/authorize', () => {
  it('answers unsupported_response_type and never redirects', async () => {
    const res = await h.request(
      '/oauth/authorize?response_type=code&client_id=x&redirect_uri=https%3A%2F%2Fevil.example%2Fcb',
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(((await res.json()) as { error: string }).error).toBe('unsupported_response_type');
  });
});
