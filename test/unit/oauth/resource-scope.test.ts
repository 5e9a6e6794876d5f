import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../../src/api/oauth/errors.js';
import { checkResourceScopes, grantedScopes } from '../../../src/api/oauth/resource-scope.js';

const resource = { uri: 'https://files.example/mcp', target: 'files', scopes: ['read', 'write'] };

describe('scopes of a resource and of an ID-JAG', () => {
  it('holds a request to the scopes the resource lists', () => {
    expect(() => checkResourceScopes(resource, ['read'])).not.toThrow();
    expect(() => checkResourceScopes(resource, ['read', 'admin'])).toThrow(OAuthError);
    expect(() => checkResourceScopes({ ...resource, scopes: undefined }, ['admin'])).not.toThrow();
    expect(() => checkResourceScopes(undefined, ['admin'])).not.toThrow();
  });

  it('grants the intersection of requested and asserted scopes', () => {
    expect(grantedScopes(['read', 'admin'], ['read', 'write'])).toEqual(['read']);
    expect(grantedScopes(undefined, ['read', 'write'])).toEqual(['read', 'write']);
    expect(grantedScopes(['read', 'read'], ['read'])).toEqual(['read']);
  });

  it('grants nothing rather than everything', () => {
    expect(() => grantedScopes(['admin'], ['read'])).toThrow('none of the requested scopes');
    expect(() => grantedScopes(['read'], undefined)).toThrow(OAuthError);
    expect(() => grantedScopes(undefined, undefined)).toThrow(OAuthError);
    expect(() => grantedScopes(undefined, [])).toThrow(OAuthError);
  });
});
