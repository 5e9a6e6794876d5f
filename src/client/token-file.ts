import { readFile } from 'node:fs/promises';

/**
 * A token source that reads `path` on every call: projected service-account tokens,
 * SPIFFE JWT-SVIDs and CI OIDC tokens are rewritten in place before they expire.
 */
export function tokenFile(path: string): () => Promise<string> {
  if (typeof path !== 'string' || path === '')
    throw new TypeError('tokenFile: path must be a non-empty string');
  return async function readWorkloadToken() {
    return (await readFile(path, 'utf8')).trim();
  };
}
