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
});
