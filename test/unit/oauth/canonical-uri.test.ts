import { describe, expect, it } from 'vitest';
import { nonCanonical } from '../../../src/oauth/canonical-uri.js';

describe('canonical resource URIs', () => {
  it.each([
    'https://mcp.example.com',
    'https://mcp.example.com/mcp',
    'https://mcp.example.com:8443/mcp',
    'https://mcp.example.com/server/mcp/',
    'http://127.0.0.1:3000/mcp',
    'https://mcp.example.com/mcp?tenant=a',
  ])('takes %s', (uri) => {
    expect(nonCanonical(uri)).toBeUndefined();
  });

  it.each([
    ['https://mcp.example.com/', 'canonical form'],
    ['https://MCP.example.com/mcp', 'canonical form'],
    ['HTTPS://mcp.example.com/mcp', 'canonical form'],
    ['https://mcp.example.com:443/mcp', 'canonical form'],
    ['http://mcp.example.com:80', 'canonical form'],
    ['https://mcp.example.com/a/../mcp', 'canonical form'],
    ['https://mcp.example.com/mcp#frag', 'fragment'],
    ['https://mcp.example.com/mcp#', 'fragment'],
    ['mcp.example.com/mcp', 'absolute'],
    ['/mcp', 'absolute'],
    ['urn:example:mcp', 'http or https'],
    ['ftp://mcp.example.com', 'http or https'],
    ['https://user:pw@mcp.example.com', 'user info'],
  ])('refuses %s (%s)', (uri, why) => {
    expect(nonCanonical(uri)).toContain(why);
  });
});
