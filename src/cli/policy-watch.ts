import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from '../lib/logger.js';
import { reloadConfigFile } from './reload-config.js';

type Reloadable = Parameters<typeof reloadConfigFile>[0];

/** Editors write a file in several steps (truncate, write, rename): one reload after they settle. */
const SETTLE_MS = 250;

/**
 * `serve --watch-config`: reloads the configuration when its file changes, through the same
 * path as SIGHUP (swapped whole, or refused with every issue and `policy.reload_rejected`).
 * The folder is watched, not the file, so a file replaced by rename (editors, Kubernetes
 * ConfigMap symlink swaps) is still seen; a save that leaves the bytes as they were is not a
 * reload. Returns a function that stops watching.
 */
export function watchConfigFile(
  running: Reloadable,
  file: string,
  logger: Logger,
  settleMs = SETTLE_MS,
): () => void {
  const path = resolve(file);
  const name = basename(path);
  let last = digest(path);
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    timer = undefined;
    const now = digest(path);
    if (now !== undefined && now === last) return;
    last = now;
    reloadConfigFile(running, path, logger);
  };
  const watcher: FSWatcher = watch(dirname(path), (_event, changed) => {
    // Some platforms give no name: then any change in the folder is worth a look.
    if (changed !== null && changed !== name && !changed.startsWith('..')) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(fire, settleMs);
  });
  watcher.on('error', (err) => logger.error({ err: err.message }, 'configuration watch failed'));
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    watcher.close();
  };
}

function digest(path: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined;
  }
}
