import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { ApiServices } from '../../src/api/context.js';
import { createApp, openApiDocument } from '../../src/app.js';

describe('openapi.yaml', () => {
  const generated = openApiDocument(createApp({} as ApiServices));

  it('is generated from the route definitions (run `npm run openapi` after changing a route)', () => {
    const committed = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8');
    expect(parse(committed)).toEqual(parse(stringify(generated)));
  });

  it('documents every route with its errors as problem+json', () => {
    const paths = Object.keys(generated.paths ?? {});
    for (const path of [
      '/v1/credentials',
      '/v1/leases/{id}',
      '/v1/tasks/{task_id}/revoke',
      '/v1/workloads/{id}/revoke',
      '/v1/introspect',
    ]) {
      expect(paths).toContain(path);
    }
    const issue = generated.paths?.['/v1/credentials']?.post;
    expect(Object.keys(issue?.responses ?? {})).toEqual(
      expect.arrayContaining(['201', '401', '403', '422', '503']),
    );
    expect(JSON.stringify(issue?.responses?.['401'])).toContain('application/problem+json');
  });

  it('names every operation once, in camelCase, for client generators', () => {
    const ids: string[] = [];
    for (const [path, item] of Object.entries(generated.paths ?? {})) {
      for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
        const operation = item[method];
        if (operation === undefined) continue;
        expect(operation.operationId, `${method.toUpperCase()} ${path}`).toMatch(
          /^[a-z][A-Za-z0-9]*$/,
        );
        ids.push(operation.operationId ?? '');
      }
    }
    expect(ids.length).toBeGreaterThan(20);
    expect(new Set(ids).size).toBe(ids.length);
    // Published names: a client generated from an earlier document keeps working.
    expect(generated.paths?.['/v1/credentials']?.post?.operationId).toBe('issueCredential');
    expect(generated.paths?.['/v1/leases/{id}']?.delete?.operationId).toBe('revokeLease');
  });

  it('names its server relative to where it is read', () => {
    expect(generated.servers).toEqual([expect.objectContaining({ url: '/' })]);
  });

  it('is served at /openapi.json without a token, as generated', async () => {
    const app = createApp({} as ApiServices);
    const res = await app.request('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(generated)));
  });
});
