import type { Command } from 'commander';
import { scopeFromString } from '../api/oauth/scope-string.js';
import { ConfigError } from '../config/load.js';
import { CliError, type OperatorIo } from './io.js';
import { callBroker } from './lib/broker-request.js';
import { show, target } from './lib/context.js';
import { table } from './lib/output.js';
import type { runPolicyCases } from './policy-cases.js';

/**
 * Exit codes of `policy simulate` and `policy test`, for scripts and CI: 0 the request is
 * allowed (every case passed), 1 denied (a case did not decide as expected), 2 an error
 * (bad options, an unreadable or invalid file, a broker that could not answer).
 */
export const POLICY_EXIT = { allow: 0, deny: 1, error: 2 } as const;

export const POLICY_EXIT_HELP = `
Exit codes:
  0  simulate: allowed; test: every case decided as expected
  1  simulate: denied;  test: a case did not
  2  an error: bad options, a file that cannot be read or is invalid, no answer from the broker`;

/** `policy simulate` (asks a broker) and `policy test` (decides offline, from a config file). */
export function registerPolicyCommands(program: Command, io: OperatorIo): void {
  const policy = program.command('policy').description('Try and test policies without issuing');
  policy
    .command('simulate')
    .description('Ask the broker what it would decide for a request')
    .requiredOption('--workload <id>', 'the workload asking')
    .requiredOption('--target <name>', 'the target asked for')
    .requiredOption(
      '--scope <scope>',
      'the scope, as JSON or in the scope-string syntax ("tickets:read repositories=acme/api")',
    )
    .requiredOption('--intent <intent>', 'the task\u2019s intent')
    .option('--task <id>', 'task id', 'simulated')
    .option('--tool <name>', 'the task\u2019s tool')
    .option('--ttl <seconds>', 'requested TTL in seconds')
    .option('--claims <json>', 'identity claims, as JSON')
    .addHelpText('after', POLICY_EXIT_HELP)
    .action(async (opts: SimulateOptions, command: Command) => {
      const body = {
        workload: opts.workload,
        target: opts.target,
        scope: scopeOption(opts.scope),
        task: {
          id: opts.task,
          intent: opts.intent,
          ...(opts.tool === undefined ? {} : { tool: opts.tool }),
        },
        ...(opts.claims === undefined ? {} : { claims: json('--claims', opts.claims) }),
        ...(opts.ttl === undefined ? {} : { ttl: ttlOption(opts.ttl) }),
      };
      let answer: unknown;
      try {
        answer = await callBroker(target(io, command), {
          method: 'POST',
          path: '/v1/policy/simulate',
          body,
        });
      } catch (err) {
        throw new CliError((err as Error).message, POLICY_EXIT.error);
      }
      show(io, command, answer);
      const allow = (answer as { allow?: unknown }).allow;
      if (allow !== true) {
        const code = (answer as { code?: unknown }).code;
        throw new CliError(
          `denied${typeof code === 'string' ? `: ${code}` : ''}`,
          POLICY_EXIT.deny,
        );
      }
    });

  policy
    .command('test <config> <cases>')
    .description(
      'Decide table-driven cases (claims + request \u2192 allow, deny or approval) against a configuration, offline; non-zero on any mismatch',
    )
    .addHelpText('after', POLICY_EXIT_HELP)
    .action(async (configFile: string, casesFile: string) => {
      let results: ReturnType<typeof runPolicyCases>;
      try {
        // Loaded only here: deciding offline builds every provider kind's schemas.
        const cases = await import('./policy-cases.js');
        results = cases.runPolicyCases(configFile, casesFile);
      } catch (err) {
        if (err instanceof ConfigError) {
          throw new CliError(err.message, POLICY_EXIT.error);
        }
        throw new CliError((err as Error).message, POLICY_EXIT.error);
      }
      for (const line of table([
        ['RESULT', 'CASE', 'EXPECTED', 'GOT', 'CODE', 'POLICY'],
        ...results.map((r) => [
          r.pass ? 'ok' : 'FAIL',
          r.name,
          r.expected,
          r.got,
          r.code,
          r.policy,
        ]),
      ])) {
        io.out(line);
      }
      const failed = results.filter((r) => !r.pass).length;
      io.out(`${results.length - failed} passed, ${failed} failed`);
      if (failed > 0) {
        throw new CliError(`${failed} of ${results.length} cases failed`, POLICY_EXIT.deny);
      }
    });
}

interface SimulateOptions {
  workload: string;
  target: string;
  scope: string;
  intent: string;
  task: string;
  tool?: string;
  ttl?: string;
  claims?: string;
}

/** JSON when it looks like an object, the scope-string syntax otherwise. */
function scopeOption(text: string): unknown {
  if (text.trimStart().startsWith('{')) return json('--scope', text);
  try {
    return scopeFromString(text);
  } catch (err) {
    throw new CliError(`--scope: ${(err as Error).message}`, POLICY_EXIT.error);
  }
}

function ttlOption(text: string): number {
  const ttl = Number(text);
  if (!Number.isInteger(ttl) || ttl < 1) {
    throw new CliError('--ttl must be a whole number of seconds', POLICY_EXIT.error);
  }
  return ttl;
}

function json(option: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${option} is not valid JSON`, POLICY_EXIT.error);
  }
}
