// @ts-check
// Post step: revoke the lease main obtained, as the same workload, so the credential dies
// with the job instead of living until its TTL.
import { brokerError, brokerUrl, jobIdToken } from './broker.js';
import { send } from './http.js';
import { fail, info, input, readCa, warn } from './runner.js';

async function post() {
  // The runner hands main's saved state back as STATE_<name>.
  const leaseId = process.env.STATE_lease_id ?? '';
  if (leaseId === '') {
    info('jit-broker: no lease to revoke (the main step issued none)');
    return;
  }
  if ((input('revoke') || 'true') !== 'true') {
    warn(`jit-broker: lease ${leaseId} left to expire (revoke is not "true")`);
    return;
  }
  const broker = brokerUrl(input('broker-url', { required: true }));
  const ca = readCa(input('ca'));
  const token = await jobIdToken(input('audience') || 'jit-broker');
  const answer = await send(new URL(`v1/leases/${encodeURIComponent(leaseId)}`, broker), {
    method: 'DELETE',
    headers: { authorization: `Bearer ${token}` },
    ca,
  });
  // 200: revoked or already finished; 202: the broker has it in hand and retries on its own.
  if (answer.status === 200 || answer.status === 202) {
    info(`jit-broker: lease ${leaseId} revoked`);
    return;
  }
  // A credential outliving its job is what this step exists to prevent: fail loudly.
  throw new Error(
    `lease ${leaseId} was not revoked (${brokerError(answer.status, answer.body)}); it stays usable until it expires`,
  );
}

post().catch((/** @type {unknown} */ err) =>
  fail(`jit-broker: ${err instanceof Error ? err.message : String(err)}`),
);
