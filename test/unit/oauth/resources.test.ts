import { describe, expect, it } from 'vitest';
import { ResourceIndex } from '../../../src/oauth/resources.js';

const TARGETS = [
  { name: 'files', audience: 'https://files.example/mcp' },
  { name: 'db', provider: 'postgres' },
];

describe('resources in the configuration', () => {
  it('maps a canonical URI to its target', () => {
    const index = new ResourceIndex(
      [{ uri: 'https://files.example/mcp', target: 'files', scopes: ['read'] }],
      TARGETS,
    );
    expect(index.find('https://files.example/mcp')).toEqual({
      uri: 'https://files.example/mcp',
      target: 'files',
      scopes: ['read'],
    });
    expect(index.find('https://files.example/mcp/')).toBeUndefined();
  });

  it.each([
    [[{ uri: 'https://FILES.example/mcp', target: 'files' }], 'resources.0.uri'],
    [[{ uri: 'https://files.example/mcp#x', target: 'files' }], 'resources.0.uri'],
    [
      [
        { uri: 'https://files.example/mcp', target: 'files' },
        { uri: 'https://files.example/mcp', target: 'files' },
      ],
      'resources.1.uri: https://files.example/mcp is listed twice',
    ],
    [[{ uri: 'https://files.example/mcp', target: 'nope' }], 'resources.0.target: no target'],
    // The token's aud would be the target's audience, not the resource.
    [[{ uri: 'https://other.example/mcp', target: 'files' }], 'must have audience'],
    [[{ uri: 'https://db.example', target: 'db' }], 'must have audience'],
  ])('refuses %j', (resources, message) => {
    expect(() => new ResourceIndex(resources, TARGETS)).toThrow(message);
  });
});
