import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * The client's AWS credential provider has the AWS SDK's shape but none of its code: an
 * MCP server that uses the client for a jwt target must not pull in an AWS package, and one
 * that uses it with the AWS SDK brings its own. Walks every module `jit-broker/client`
 * loads at run time (type-only imports are erased by the compiler).
 */

const ENTRY = resolve(import.meta.dirname, '../../../src/client/index.ts');
const SPECIFIER = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

function runtimeImports(entry: string): { modules: string[]; packages: string[] } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(SPECIFIER)) {
      const [, , typeOnly, specifier = ''] = match;
      if (typeOnly !== undefined) continue;
      if (specifier.startsWith('.'))
        visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.add(specifier);
    }
  };
  visit(entry);
  return { modules: [...seen], packages: [...packages].sort() };
}

describe('jit-broker/client at run time', () => {
  it('loads the AWS credential modules and no package but Node’s own', () => {
    const { modules, packages } = runtimeImports(ENTRY);
    expect(modules.some((m) => m.endsWith('aws-credentials.ts'))).toBe(true);
    expect(modules.some((m) => m.endsWith('aws-credential.ts'))).toBe(true);
    expect(packages.filter((p) => !p.startsWith('node:'))).toEqual([]);
  });
});
