// @ts-check
// Main step: exchange the job's OIDC token for a credential (RFC 8693 at /oauth/token), mask
// it, hand it to the job, and remember the lease for the post step.
import { brokerError, brokerUrl, jobIdToken } from './broker.js';
import { parseJson, send } from './http.js';
import { appendRecord, fail, info, input, maskCredential, readCa } from './runner.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

async function main() {
  const broker = brokerUrl(input('broker-url', { required: true }));
  const target = input('target', { required: true });
  const intent = input('intent', { required: true });
  const scope = input('scope');
  const taskId = input('task-id', { required: true });
  const tool = input('tool');
  const audience = input('audience') || 'jit-broker';
  const envName = input('env-name');
  const ca = readCa(input('ca'));
  // Checked before anything is issued, so a typo cannot leave a lease nobody exports.
  if (envName !== '' && !ENV_NAME.test(envName)) {
    throw new Error(`env-name is not an environment variable name: ${envName}`);
  }

  const subjectToken = await jobIdToken(audience);
  const form = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: subjectToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    resource: target,
    task_id: taskId,
    task_intent: intent,
  });
  if (scope !== '') form.set('scope', scope);
  if (tool !== '') form.set('task_tool', tool);

  const answer = await send(new URL('oauth/token', broker), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    ca,
  });
  if (answer.status !== 200) {
    throw new Error(`the broker refused the exchange (${brokerError(answer.status, answer.body)})`);
  }
  const issued = parseJson(answer.body);
  const credential = issued.access_token;
  const leaseId = issued.lease_id;
  if (typeof credential !== 'string' || typeof leaseId !== 'string') {
    throw new Error('the broker answered without access_token or lease_id');
  }

  // Masked before anything else is written, so no later line can print it in clear.
  maskCredential(credential);
  // Saved first: if exporting fails, the post step still revokes what was issued.
  appendRecord('GITHUB_STATE', 'lease_id', leaseId);
  appendRecord('GITHUB_OUTPUT', 'credential', credential);
  appendRecord('GITHUB_OUTPUT', 'lease-id', leaseId);
  appendRecord('GITHUB_OUTPUT', 'expires-at', String(issued.expires_at ?? ''));
  appendRecord('GITHUB_OUTPUT', 'token-type', String(issued.issued_token_type ?? ''));
  if (envName !== '') appendRecord('GITHUB_ENV', envName, credential);

  info(
    `jit-broker: lease ${leaseId} for ${String(issued.target ?? target)}` +
      ` (scope "${String(issued.scope ?? '')}"), expires ${String(issued.expires_at ?? '?')}`,
  );
}

main().catch((/** @type {unknown} */ err) =>
  fail(`jit-broker: ${err instanceof Error ? err.message : String(err)}`),
);
