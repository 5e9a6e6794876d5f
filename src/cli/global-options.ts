import { type Command, Option } from 'commander';
import { CLI_EXIT_HELP } from './exit-codes.js';
import { OUTPUT_FORMATS } from './lib/settings.js';
import { packageVersion } from './version.js';

/**
 * The options every command shares. Their environment variables are read by
 * `brokerTarget` from the io's env (not by commander from process.env), so a flag given
 * always wins over the environment and tests can pass an environment of their own.
 */
export function registerGlobalOptions(program: Command): void {
  program
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .option(
      '--url <url>',
      'the broker, e.g. https://broker.internal or https://host/broker (a path is kept) [env JIT_BROKER_URL]',
    )
    .option(
      '--token <token>',
      'an operator JWT or break-glass token; visible in `ps`, prefer --token-file [env JIT_BROKER_TOKEN]',
    )
    .option(
      '--token-file <file>',
      'a file holding the token, read at each run [env JIT_BROKER_TOKEN_FILE]',
    )
    .option(
      '--ca-file <file>',
      'PEM CA certificate(s) to trust for the broker, e.g. a private CA [env JIT_BROKER_CA_FILE]',
    )
    .option(
      '--insecure-skip-verify',
      'do not check the broker\u2019s certificate: for tests only, warns on stderr [env JIT_BROKER_INSECURE_SKIP_VERIFY=1|true]',
    )
    .addOption(
      new Option(
        '-o, --output <format>',
        'output: table for humans; json and yaml print the broker\u2019s answer as is [env JIT_BROKER_OUTPUT]',
      ).choices(OUTPUT_FORMATS),
    )
    .option(
      '--timeout <duration>',
      'how long to wait for the broker, e.g. 500ms, 30s, 2m (default 30s)',
    )
    .addHelpText('after', CLI_EXIT_HELP);
}
