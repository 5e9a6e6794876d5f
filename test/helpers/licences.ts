import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * What may ship: the licences of every package a user installs with jit-broker. An
 * allowlist rather than a denylist, so a licence nobody has looked at (or none at all) fails
 * as loudly as AGPL does; a copyleft licence is named as such in the failure.
 */

/** Permissive licences, compatible with shipping inside an Apache-2.0 package. */
export const ALLOWED_LICENCES: ReadonlySet<string> = new Set([
  '0BSD',
  'Apache-2.0',
  'BlueOak-1.0.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'CC0-1.0',
  'CC-BY-3.0',
  'CC-BY-4.0',
  'ISC',
  'MIT',
  'MIT-0',
  'Python-2.0',
  'Unlicense',
  'Zlib',
]);

/** Licences whose terms would reach jit-broker's users: named in the failure. */
const COPYLEFT =
  /^(?:A?GPL|LGPL|SSPL|EUPL|OSL|RPL|CPAL|CC-BY(?:-NC)?-SA|Sleepycat|Commons-Clause)/i;

export interface InstalledPackage {
  name: string;
  version: string;
  /** The manifest's `license` (SPDX expression, or a legacy object) and legacy `licenses`. */
  license?: unknown;
  licenses?: unknown;
}

/** The manifest's licence as one SPDX expression; legacy `{ type }` forms are read too. */
export function licenceExpression(pkg: InstalledPackage): string | undefined {
  const typeOf = (value: unknown) =>
    typeof value === 'string'
      ? value
      : typeof value === 'object' && value !== null && 'type' in value
        ? String((value as { type: unknown }).type)
        : undefined;
  const single = typeOf(pkg.license);
  if (single !== undefined && single.trim() !== '') return single.trim();
  if (Array.isArray(pkg.licenses)) {
    const all = pkg.licenses.map(typeOf).filter((t): t is string => t !== undefined && t !== '');
    // npm's legacy list meant "any of these".
    if (all.length > 0) return all.length === 1 ? all[0] : `(${all.join(' OR ')})`;
  }
  return undefined;
}

/**
 * Whether an SPDX expression lets us ship the package: `A OR B` needs one allowed side,
 * `A AND B` both, `A WITH exception` is judged by `A`. Unparseable text is not allowed.
 */
export function licenceAllowed(expression: string): boolean {
  const tokens = expression.match(/\(|\)|[^\s()]+/g) ?? [];
  let at = 0;
  const peek = () => tokens[at];
  const orExpr = (): boolean => {
    let ok = andExpr();
    while (peek()?.toUpperCase() === 'OR') {
      at++;
      const right = andExpr();
      ok = ok || right;
    }
    return ok;
  };
  const andExpr = (): boolean => {
    let ok = atom();
    while (peek()?.toUpperCase() === 'AND') {
      at++;
      const right = atom();
      ok = ok && right;
    }
    return ok;
  };
  const atom = (): boolean => {
    const token = tokens[at++];
    if (token === undefined) throw new SyntaxError('unexpected end');
    if (token === '(') {
      const ok = orExpr();
      if (tokens[at++] !== ')') throw new SyntaxError('missing )');
      return ok;
    }
    if (/^(?:AND|OR|WITH|\))$/i.test(token)) throw new SyntaxError(`unexpected ${token}`);
    if (peek()?.toUpperCase() === 'WITH') at += 2;
    return ALLOWED_LICENCES.has(token);
  };
  try {
    const ok = orExpr();
    return ok && at === tokens.length;
  } catch {
    return false;
  }
}

/** One line per package that may not ship, saying why; empty when all may. */
export function licenceProblems(packages: readonly InstalledPackage[]): string[] {
  const problems: string[] = [];
  for (const pkg of packages) {
    const expression = licenceExpression(pkg);
    const id = `${pkg.name}@${pkg.version}`;
    if (expression === undefined) problems.push(`${id}: no licence declared`);
    else if (!licenceAllowed(expression)) {
      const copyleft = (expression.match(/[^\s()]+/g) ?? []).some((t) => COPYLEFT.test(t));
      problems.push(
        `${id}: ${expression} ${copyleft ? 'is copyleft' : 'is not on the allowed list'}`,
      );
    }
  }
  return problems;
}

function manifest(dir: string): InstalledPackage | undefined {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as InstalledPackage;
}

/**
 * Every package installed under a `node_modules` folder, nested ones and scopes included:
 * in a project that installed only jit-broker's tarball, that is its production closure.
 */
export function installedPackages(nodeModules: string): InstalledPackage[] {
  const found: InstalledPackage[] = [];
  if (!existsSync(nodeModules)) return found;
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || !(entry.isDirectory() || entry.isSymbolicLink())) continue;
    const path = join(nodeModules, entry.name);
    const dirs = entry.name.startsWith('@')
      ? readdirSync(path).map((name) => join(path, name))
      : [path];
    for (const dir of dirs) {
      const pkg = manifest(dir);
      if (pkg !== undefined) found.push(pkg);
      found.push(...installedPackages(join(dir, 'node_modules')));
    }
  }
  return found;
}

/**
 * The production closure npm's lockfile records (entries not marked `dev`), read from the
 * installed manifests, which are what ships, rather than the lockfile's copy of the field.
 */
export function lockedProductionPackages(root: string): InstalledPackage[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; version?: string; license?: unknown }>;
  };
  const packages: InstalledPackage[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev === true) continue;
    const installed = manifest(join(root, path));
    packages.push(
      installed ?? {
        name: path.slice(path.lastIndexOf('node_modules/') + 13),
        version: entry.version ?? '?',
        license: entry.license,
      },
    );
  }
  return packages;
}
