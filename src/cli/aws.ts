import type { Command } from 'commander';
import { awsIdentity } from '../client/aws-credential.js';
import { JitBrokerError } from '../client/errors.js';
import { CLI_EXIT } from './exit-codes.js';
import { CliError, type OperatorIo } from './io.js';
import { callBroker } from './lib/broker-request.js';
import { target } from './lib/context.js';

/*
 * Where the AWS CLI and SDKs look for credentials. The shape printed is the one every AWS
 * SDK's process credential provider reads (`credential_process` in ~/.aws/config):
 * Version 1, the three secrets and an ISO 8601 Expiration, after which the SDK runs the
 * command again.
 */

interface CredentialProcessOptions {
  target: string;
  action?: string[];
  resource?: string[];
  task: string;
  intent: string;
  tool?: string;
  ttl?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function ttlSeconds(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ttl = Number(raw);
  if (!(Number.isInteger(ttl) && ttl >= 1 && ttl <= 86_400))
    throw new CliError(`--ttl: not a number of seconds from 1 to 86400: ${raw}`, CLI_EXIT.usage);
  return ttl;
}

/** The lease's credential as the AWS process provider reads it; nothing printed before it is whole. */
export function credentialProcessJson(answer: unknown, now: number): string {
  const lease = (typeof answer === 'object' && answer !== null ? answer : {}) as Record<
    string,
    unknown
  >;
  const leaseExpiry = new Date(typeof lease.expires_at === 'string' ? lease.expires_at : '');
  let identity: ReturnType<typeof awsIdentity>;
  try {
    identity = awsIdentity(lease.credential, leaseExpiry);
  } catch (err) {
    // The message names the bad field only: what came back is still a live credential.
    if (err instanceof JitBrokerError) throw new CliError(`invalid answer: ${err.detail}`);
    throw err;
  }
  if (identity.expiration.getTime() <= now)
    throw new CliError('the broker issued a credential that has already expired: check clocks');
  return JSON.stringify({
    Version: 1,
    AccessKeyId: identity.accessKeyId,
    SecretAccessKey: identity.secretAccessKey,
    SessionToken: identity.sessionToken,
    Expiration: identity.expiration.toISOString(),
  });
}

/** `jit-broker aws credential-process`: a task-bound AWS session for `credential_process`. */
export function registerAwsCommands(program: Command, io: OperatorIo): void {
  const aws = program
    .command('aws')
    .description('Sessions of AWS targets where the AWS CLI and SDKs look for credentials');
  aws
    .command('credential-process')
    .description(
      'Ask for a session and print it as credential_process JSON (stdout holds nothing else); the token is the workload\u2019s',
    )
    .requiredOption('--target <name>', 'the AWS target, as the broker\u2019s config names it')
    .option('--action <action>', 'an IAM action, e.g. s3:GetObject (repeat for more)', collect)
    .option(
      '--resource <arn>',
      'a resource ARN or ARN pattern, e.g. arn:aws:s3:::reports/* (repeat for more)',
      collect,
    )
    .requiredOption('--task <id>', 'the task the session is for')
    .requiredOption('--intent <intent>', 'what the task does, as policies name it')
    .option('--tool <name>', 'the tool asking, recorded with the lease')
    .option('--ttl <seconds>', 'the lease\u2019s TTL (default: the policy\u2019s)')
    .action(async (opts: CredentialProcessOptions, command: Command) => {
      const { action: actions = [], resource: resources = [] } = opts;
      if (actions.length === 0 || resources.length === 0)
        throw new CliError('give at least one --action and one --resource', CLI_EXIT.usage);
      const ttl = ttlSeconds(opts.ttl);
      const answer = await callBroker(target(io, command), {
        method: 'POST',
        path: '/v1/credentials',
        body: {
          target: opts.target,
          scope: { actions, resources },
          task: {
            id: opts.task,
            intent: opts.intent,
            ...(opts.tool === undefined ? {} : { tool: opts.tool }),
          },
          ...(ttl === undefined ? {} : { ttl }),
        },
      });
      io.out(credentialProcessJson(answer, Date.now()));
    });
}
