import { describe, expect, it } from 'vitest';
import { BrokerClientCredentials } from '../../src/mcp/index.js';

/**
 * The workload's identity JWT is a credential the broker accepts: whatever the MCP SDK in
 * use checks (older ones check nothing), the provider itself never hands it to a token
 * endpoint that is not the broker's, nor to an authorization server naming another issuer.
 */
function provider(asked: string[]) {
  return new BrokerClientCredentials({
    clientId: 'agent-a',
    expectedIssuer: 'https://broker.test.example',
    assertion: () => {
      asked.push('assertion');
      return 'identity.jwt.of-the-agent';
    },
    task: { id: 'task-1', intent: 'mcp' },
  });
}

describe('the client assertion goes to the broker only', () => {
  it.each([
    ['another host', 'https://evil.test.example/oauth/token', 'https://broker.test.example'],
    ['a look-alike host', 'https://broker.test.example.evil.test/oauth/token', undefined],
    ['plain http to the broker host', 'http://broker.test.example/oauth/token', undefined],
    ['another port', 'https://broker.test.example:8443/oauth/token', undefined],
    ['metadata of another issuer', 'https://broker.test.example/oauth/token', 'https://evil.test'],
  ])('refuses %s', async (_what, url, issuer) => {
    const asked: string[] = [];
    const params = new URLSearchParams();
    await expect(
      provider(asked).addClientAuthentication(
        new Headers(),
        params,
        url,
        issuer === undefined ? undefined : { issuer },
      ),
    ).rejects.toThrow(/broker/);
    expect(asked).toEqual([]);
    expect(params.has('client_assertion')).toBe(false);
  });

  it("adds the assertion for the broker's own token endpoint", async () => {
    const asked: string[] = [];
    const params = new URLSearchParams();
    await provider(asked).addClientAuthentication(
      new Headers(),
      params,
      new URL('https://broker.test.example/oauth/token'),
      { issuer: 'https://broker.test.example/' },
    );
    expect(params.get('client_assertion')).toBe('identity.jwt.of-the-agent');
    expect(asked).toEqual(['assertion']);
  });
});
