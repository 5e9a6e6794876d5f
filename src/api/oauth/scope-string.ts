import { OAuthError } from './errors.js';

const MAX_SCOPE_TOKENS = 64;
const FIELD = /^[a-z_][a-z0-9_]{0,63}$/;
/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * The `scope` string in provider terms. A bare token is one of `scopes` (the `jwt`
 * provider's list); `field=value` adds `value` to the list `field`; `field.key=value` sets
 * `key` of the object `field`. The target's provider then validates the result as strictly
 * as a JSON scope on `/v1/credentials`.
 */
export function scopeFromString(text: string): Record<string, unknown> {
  const tokens = text.split(' ').filter((token) => token !== '');
  if (tokens.length === 0 || tokens.length > MAX_SCOPE_TOKENS) {
    throw new OAuthError('invalid_scope', `"scope" must hold 1-${MAX_SCOPE_TOKENS} scope tokens`);
  }
  const lists = new Map<string, string[]>();
  const objects = new Map<string, Map<string, string>>();
  for (const token of tokens) {
    if (!SCOPE_TOKEN.test(token))
      throw new OAuthError(
        'invalid_scope',
        'a scope token has a character RFC 6749 does not allow',
      );
    const eq = token.indexOf('=');
    if (eq === -1) {
      lists.set('scopes', [...(lists.get('scopes') ?? []), token]);
      continue;
    }
    const [field, key, ...rest] = token.slice(0, eq).split('.');
    const value = token.slice(eq + 1);
    if (field === undefined || !FIELD.test(field) || rest.length > 0 || value === '') {
      throw new OAuthError('invalid_scope', `"${token}" is not field=value or field.key=value`);
    }
    if (key === undefined) {
      lists.set(field, [...(lists.get(field) ?? []), value]);
      continue;
    }
    if (!FIELD.test(key)) throw new OAuthError('invalid_scope', `"${token}" has a bad key`);
    const object = objects.get(field) ?? new Map<string, string>();
    if (object.has(key)) throw new OAuthError('invalid_scope', `"${field}.${key}" is given twice`);
    objects.set(field, object.set(key, value));
  }
  const scope: Record<string, unknown> = Object.fromEntries(lists);
  for (const [field, object] of objects) {
    if (Object.hasOwn(scope, field))
      throw new OAuthError('invalid_scope', `"${field}" is both a list and an object`);
    scope[field] = Object.fromEntries(object);
  }
  return scope;
}

/** The inverse of `scopeFromString` for what it can express; undefined otherwise. */
export function scopeToString(scope: unknown): string | undefined {
  if (typeof scope !== 'object' || scope === null || Array.isArray(scope)) return undefined;
  const tokens: string[] = [];
  for (const [field, value] of Object.entries(scope)) {
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      tokens.push(...value.map((v) => (field === 'scopes' ? v : `${field}=${v}`)));
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [key, v] of Object.entries(value)) {
        if (typeof v !== 'string') return undefined;
        tokens.push(`${field}.${key}=${v}`);
      }
    } else {
      return undefined;
    }
  }
  return tokens.join(' ');
}
