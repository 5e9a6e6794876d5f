import type { Context } from 'hono';
import { OAuthError } from './errors.js';

/** The request's form parameters, each with every value it was given, in order. */
export type FormParameters = ReadonlyMap<string, readonly string[]>;

/** RFC 8693 §2.1 allows several `resource` and `audience` values; a lease has one target. */
const REPEATABLE: ReadonlySet<string> = new Set(['resource', 'audience']);

/** RFC 8693 §2.1 and RFC 7523 §2.1 send the grant as an `x-www-form-urlencoded` body. */
export async function readForm(c: Context): Promise<FormParameters> {
  const contentType = c.req.header('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) {
    throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded');
  }
  return formParameters(await c.req.text());
}

/** RFC 6749 §3.1: parameters must not repeat (except the RFC 8693 target parameters). */
function formParameters(body: string): FormParameters {
  const params = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(body)) {
    const values = params.get(name) ?? [];
    values.push(value);
    if (values.length > 1 && !REPEATABLE.has(name)) {
      throw new OAuthError('invalid_request', `the "${name}" parameter is repeated`);
    }
    params.set(name, values);
  }
  return params;
}

/** RFC 6749 §3.1: a parameter sent without a value is treated as omitted. */
export function one(params: FormParameters, name: string): string | undefined {
  const value = params.get(name)?.[0];
  return value === '' ? undefined : value;
}

export function required(params: FormParameters, name: string): string {
  const value = one(params, name);
  if (value === undefined)
    throw new OAuthError('invalid_request', `the "${name}" parameter is required`);
  return value;
}

/**
 * For grants that name one resource (client credentials, ID-JAG): no parameter may repeat,
 * not even `resource`, so a request never leaves the server to pick among several.
 */
export function requireSingleValues(params: FormParameters): void {
  for (const [name, values] of params) {
    if (values.length > 1) {
      throw new OAuthError('invalid_request', `the "${name}" parameter is repeated`);
    }
  }
}
