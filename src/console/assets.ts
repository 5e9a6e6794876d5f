import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file of the console, read once and served from memory. */
export interface ConsoleAsset {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly contentType: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
};

/**
 * The only names an asset may have: one path segment of lower-case letters, digits and
 * dashes with a known extension. A request names an asset by key in a map built from the
 * folder listing, so no request path ever reaches the file system (no `..`, no encoded
 * slash, no symlink outside the folder).
 */
export const ASSET_NAME = /^[a-z0-9][a-z0-9-]{0,63}\.(html|js|css|svg|png)$/;

/**
 * Where the console's files live: `console/` at the package root, two levels above this
 * file under tsx (`src/console/`) and three once compiled (`dist/src/console/`).
 */
export function consoleDir(from: string = import.meta.url): string | undefined {
  let dir = dirname(fileURLToPath(from));
  for (let i = 0; i < 6; i += 1) {
    const candidate = join(dir, 'console');
    if (isOurPackage(dir) && isDirectory(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

function isOurPackage(dir: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
    return pkg.name === 'jit-broker';
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Reads every servable file of the folder; anything else in it (subfolders, odd names) is left out. */
export function loadConsoleAssets(dir: string | undefined): ReadonlyMap<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>();
  if (dir === undefined) return assets;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const match = ASSET_NAME.exec(entry.name);
    const type = match?.[1] === undefined ? undefined : CONTENT_TYPES[match[1]];
    if (type === undefined) continue;
    assets.set(entry.name, { body: readFileSync(join(dir, entry.name)), contentType: type });
  }
  return assets;
}
