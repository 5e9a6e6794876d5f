import { dirname, resolve } from 'node:path';
import { type Command, CommanderError } from 'commander';
import { ConfigError, parseConfig } from '../config/load.js';
import { createAuditKeyring, readAuditJwks } from '../events/signing/index.js';
import { AUDIT_KEYS_PATH, readAnchor } from './audit-anchor.js';
import { registerEventsExport } from './events-export.js';
import { registerEventsTail } from './events-tail.js';
import { CLI_EXIT, VERIFY_EXIT, VERIFY_EXIT_HELP } from './exit-codes.js';
import { CliError, type OperatorIo } from './io.js';
import { callBroker } from './lib/broker-request.js';
import { globalOptions, target } from './lib/context.js';
import { verifyEventText } from './verify-events.js';

const FAILURES: Record<number, string> = {
  [VERIFY_EXIT.invalid]: 'the event chain does not verify',
  [VERIFY_EXIT.usage]: 'nothing anchors the keys the chain was checked with',
  [VERIFY_EXIT.uncovered]: 'the end of the chain is not covered by a signature',
};

/** `events verify` and `events keys`: the audit trail, checked offline against its keys. */
export function registerEventCommands(program: Command, io: OperatorIo): void {
  const events = program
    .command('events')
    .description(
      'Audit events: follow the live feed, export the stream, verify exported chains, print the audit keys',
    );

  events
    .command('verify [file]')
    .description(
      'Verify the hash chains of exported events (a file, or - for stdin; native JSON lines or OCSF) against the audit keys: nothing altered, dropped, reordered or re-signed',
    )
    .option(
      '--jwks <url-or-file>',
      'the audit keys (JWK Set), e.g. the broker\u2019s /.well-known/jit-audit-keys.json',
    )
    .option('--public-key <file>', 'one audit key: SPKI PEM or JWK (a JWK Set works too)')
    .option(
      '--allow-partial',
      'accept runs that do not start at their genesis (an export of a time window); otherwise a missing head exits 3',
    )
    .option(
      '--trust-embedded-key',
      'without an anchor, accept the key each chain announces itself (proves integrity, not origin)',
    )
    .addHelpText('after', VERIFY_EXIT_HELP)
    .exitOverride(usageExit)
    .action(
      async (
        file: string | undefined,
        opts: {
          jwks?: string;
          publicKey?: string;
          trustEmbeddedKey?: boolean;
          allowPartial?: boolean;
        },
      ) => {
        const anchor = await readAnchor(io, opts);
        let text: string;
        try {
          text = await io.read(file ?? '-');
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? 'error';
          throw new CliError(`cannot read ${file ?? 'stdin'} (${code})`, VERIFY_EXIT.usage);
        }
        const report = verifyEventText(text, {
          ...(anchor === undefined ? {} : { anchor }),
          trustEmbeddedKey: opts.trustEmbeddedKey === true,
          allowPartial: opts.allowPartial === true,
        });
        for (const line of report.lines) io.out(line);
        if (report.exitCode !== VERIFY_EXIT.ok) {
          throw new CliError(FAILURES[report.exitCode] ?? 'not verified', report.exitCode);
        }
      },
    );

  events
    .command('keys')
    .description(
      'Print the audit keys (JWK Set) from a configuration file or a broker (--url, JIT_BROKER_URL): the anchor for `events verify --jwks`',
    )
    .option('-c, --config <file>', 'the broker configuration (events.signing)')
    .action(async (opts: { config?: string }, command: Command) => {
      const settings = globalOptions(io, command);
      if (
        opts.config !== undefined &&
        command.optsWithGlobals<{ url?: string }>().url !== undefined
      ) {
        throw new CliError('give --config or --url, not both', CLI_EXIT.usage);
      }
      if (opts.config !== undefined) {
        io.out(JSON.stringify({ keys: await configuredKeys(io, opts.config) }, null, 2));
      } else if (settings.url !== undefined) {
        // Anonymous, but over the same TLS settings as every other call (--ca-file).
        const broker = target(io, command, { token: false });
        const jwks = await callBroker(broker, {
          method: 'GET',
          path: AUDIT_KEYS_PATH,
          authenticate: false,
        });
        io.out(JSON.stringify({ keys: readAuditJwks(jwks) }, null, 2));
      } else {
        throw new CliError(
          'give --config FILE or --url BROKER (or set JIT_BROKER_URL)',
          CLI_EXIT.usage,
        );
      }
    });

  registerEventsTail(events, io);
  registerEventsExport(events, io);
}

/**
 * The public keys `events.signing` configures. The whole file is read as `serve` reads it
 * (secrets resolved), but only public members are printed.
 */
async function configuredKeys(io: OperatorIo, file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await io.read(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError(`cannot read ${file} (${code})`, VERIFY_EXIT.usage);
  }
  let ring: ReturnType<typeof createAuditKeyring>;
  try {
    const config = parseConfig(text, { env: io.env, baseDir: dirname(resolve(file)) });
    ring = createAuditKeyring(config.events);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  if (ring.source === 'ephemeral') {
    throw new CliError(
      `${file} configures no audit keys (events.signing.keys): each replica signs with a key of its own that nothing publishes`,
    );
  }
  return ring.publicJwks();
}

/**
 * Parse errors of `events verify` exit 2 like every other usage error; help exits 0 as
 * commander would.
 */
function usageExit(err: CommanderError): never {
  throw err.exitCode === 0 ? err : new CommanderError(VERIFY_EXIT.usage, err.code, err.message);
}
