import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { accessMarkdown } from '../../src/api/access-doc.js';
import type { ApiServices } from '../../src/api/context.js';
import { createApp } from '../../src/app.js';

const BEGIN = '<!-- access-table:begin (generated: npx tsx src/main.ts access) -->';
const END = '<!-- access-table:end -->';

describe("README's API table", () => {
  it('is written from the access table (regenerate with `npx tsx src/main.ts access`)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf(BEGIN);
    const end = readme.indexOf(END);
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    const committed = readme.slice(start + BEGIN.length, end).trim();
    expect(committed).toBe(accessMarkdown(createApp({} as ApiServices)));
  });

  it('names every operator role and the owner rule', () => {
    const table = accessMarkdown(createApp({} as ApiServices));
    expect(table).toMatch(/`POST \/v1\/leases\/\{id\}\/retry` \| `lease\.retry` \| revoker \|/);
    expect(table).toMatch(/`DELETE \/v1\/leases\/\{id\}` \| `lease\.revoke` \| owner, revoker \|/);
    expect(table).toMatch(/`POST \/v1\/freeze` \| `issuance\.freeze` \| admin \|/);
  });
});
