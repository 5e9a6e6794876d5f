type Issue = { path: (string | number)[]; message: string };

/**
 * What every keyring of the broker must hold (jwt targets' signing keys, the audit chain's):
 * exactly one `active` key, so which key signs is never a guess, and each `kid` once, so a
 * verifier never has two keys to choose from. `eachKey` adds the owner's own checks of one
 * key, reported in key order. Paths are relative to the keyring's owner.
 */
export function keyringIssues<Key extends { kid: string; state: string }>(
  keys: readonly Key[],
  eachKey: (key: Key, index: number) => Issue[] = () => [],
): Issue[] {
  const issues: Issue[] = [];
  const active = keys.filter((key) => key.state === 'active').length;
  if (active !== 1) {
    issues.push({ path: ['keys'], message: `exactly one key must be active (found ${active})` });
  }
  const seen = new Set<string>();
  keys.forEach((key, index) => {
    if (seen.has(key.kid)) issues.push({ path: ['keys', index, 'kid'], message: 'duplicate kid' });
    seen.add(key.kid);
    issues.push(...eachKey(key, index));
  });
  return issues;
}
