import type { RevocationProof } from '../provider.js';

/**
 * Proof that a lease's ACL user is gone from every node: `ACL GETUSER` answers nil for it.
 * `onEveryNode` is the provider's own fan-out, which fails (scrubbed) when a node does not answer.
 */
export async function verifyAclUserGone(
  onEveryNode: (
    command: (client: { call(...args: string[]): Promise<unknown> }) => Promise<unknown>,
  ) => Promise<unknown[]>,
  user: string,
): Promise<RevocationProof> {
  const answers = await onEveryNode((client) => client.call('ACL', 'GETUSER', user));
  const present = answers.filter((answer) => answer !== null && answer !== undefined).length;
  return {
    gone: present === 0,
    evidence: `ACL GETUSER ${user}: present on ${present} of ${answers.length} node(s)`,
  };
}
