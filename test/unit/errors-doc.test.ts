import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ApiServices } from '../../src/api/context.js';
import { errorsMarkdown } from '../../src/api/errors-doc.js';
import { STATUS } from '../../src/api/problem.js';
import { createApp } from '../../src/app.js';

describe('docs/errors.md', () => {
  it('is written from the status and description tables (npx tsx src/main.ts errors > docs/errors.md)', () => {
    const committed = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    expect(committed).toBe(errorsMarkdown());
  });

  it('has one row per code, with its status', () => {
    const page = errorsMarkdown();
    for (const [code, status] of Object.entries(STATUS)) {
      expect(page).toContain(`| \`${code}\` | ${status} |`);
    }
  });

  it('is linked from the README next to the error paragraph', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toMatch(/Errors are `application\/problem\+json`[\s\S]*?\(docs\/errors\.md\)/);
  });
});

describe('problem type', () => {
  it('is about:blank: callers switch on the stable code the page documents', async () => {
    const res = await createApp({} as ApiServices).request('/no/such/route');
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ type: 'about:blank', status: 404, code: 'not_found' });
  });
});
