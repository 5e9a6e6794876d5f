#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { stringify } from 'yaml';
import type { ApiServices } from './api/context.js';
import { registerAwsCommands } from './cli/aws.js';
import { CLI_EXIT } from './cli/exit-codes.js';
import { CliError, type OperatorIo } from './cli/io.js';
import { registerOperatorCommands } from './cli/operator.js';
import { parseDuration } from './config/duration.js';
import { ConfigError, loadConfigFile } from './config/load.js';
import { OPERATOR_ROLES } from './config/schema.js';
import { generateBreakGlassToken } from './identity/break-glass.js';
import { createLogger, LOG_FORMATS, type LogFormat } from './lib/logger.js';
import type { RunningBroker } from './server.js';

const program = new Command('jit-broker')
  .description('Just-in-time, task-bound, revocable credentials for MCP servers and AI agents')
  // Thrown rather than exited, so that usage errors exit 2 like every peer tool's (fail()).
  .exitOverride()
  .showHelpAfterError();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function fail(err: unknown): never {
  // Commander has printed its own message: help and --version exit 0, a usage error 2.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : CLI_EXIT.usage);
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(`jit-broker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof CliError ? err.exitCode : 1);
}

function onSignals(running: RunningBroker, reload?: () => void): void {
  const stop = async () => {
    await running.close().catch(() => {});
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  if (reload) process.on('SIGHUP', reload);
}

/** `--log-format`: one JSON record per line for collectors, or one readable line for a terminal. */
const logFormatOption = () =>
  new Option('--log-format <format>', 'log lines: json for collectors, pretty for a terminal')
    .choices(LOG_FORMATS)
    .env('JIT_LOG_FORMAT')
    .default('json');

program
  .command('serve')
  .description('Run the broker (production): Redis required')
  .addOption(new Option('-c, --config <file>', 'configuration file').env('JIT_BROKER_CONFIG'))
  .option('--require-aof', 'refuse to start when Redis keeps no append-only file')
  .option(
    '--watch-config',
    'reload the configuration when its file changes (as SIGHUP does; a bad file is refused)',
  )
  .option(
    '--allow-provider-modules',
    'load the code of `provider: module` targets named in the config',
  )
  .addOption(logFormatOption())
  .action(
    async (opts: {
      config?: string;
      requireAof?: boolean;
      allowProviderModules?: boolean;
      watchConfig?: boolean;
      logFormat: LogFormat;
    }) => {
      if (!opts.config) fail(new Error('--config (or JIT_BROKER_CONFIG) is required'));
      const logger = createLogger({ format: opts.logFormat });
      try {
        const file = opts.config;
        const config = loadConfigFile(file);
        const [{ startBroker }, { reloadConfigFile }, { watchConfigFile }] = await Promise.all([
          import('./server.js'),
          import('./cli/reload-config.js'),
          import('./cli/policy-watch.js'),
        ]);
        const running = await startBroker({
          config,
          store: 'redis',
          logger,
          requireAof: opts.requireAof === true,
          allowProviderModules: opts.allowProviderModules === true,
          baseDir: dirname(resolve(file)),
        });
        logger.info({ url: running.url }, 'jit-broker serving');
        if (running.events.keySource === 'ephemeral') {
          logger.warn(
            { instance: running.events.instance, public_key: running.events.publicKeyJwk },
            'no audit signing keys (events.signing): this replica signs its event chain with a key of its own, published nowhere, so the chain is only self-certified: `events verify` can prove it unaltered since its genesis, not who wrote it',
          );
        }
        onSignals(running, () => reloadConfigFile(running, file, logger));
        if (opts.watchConfig === true) watchConfigFile(running, file, logger);
      } catch (err) {
        fail(err);
      }
    },
  );

program
  .command('dev')
  .description('Run a self-contained demo broker with a loopback identity issuer')
  .option('-p, --port <port>', 'broker port', '8080')
  .option(
    '--issuer-port <port>',
    'demo identity issuer port (the printed commands name it)',
    '8081',
  )
  .addOption(logFormatOption())
  .action(async (opts: { port: string; issuerPort: string; logFormat: LogFormat }) => {
    const logger = createLogger({
      level: process.env.LOG_LEVEL ?? 'warn',
      format: opts.logFormat,
    });
    try {
      const [{ startBroker }, { DEV_SUBJECTS, devConfig }, { startDevIssuer }, { walkthrough }] =
        await Promise.all([
          import('./server.js'),
          import('./dev/config.js'),
          import('./dev/issuer.js'),
          import('./dev/walkthrough.js'),
        ]);
      const redisUrl = process.env.REDIS_URL;
      const issuerOptions = {
        workloadAudience: 'jit-broker',
        operatorAudience: 'jit-broker-operators',
        subjects: { ...DEV_SUBJECTS },
      };
      // A fixed port, so the walkthrough pasted after a restart still reaches the issuer.
      const issuer = await startDevIssuer({
        ...issuerOptions,
        port: Number(opts.issuerPort),
      }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EADDRINUSE') throw err;
        logger.warn(`issuer port ${opts.issuerPort} is taken; using a free one`);
        return startDevIssuer(issuerOptions);
      });
      const start = async (port: number) =>
        startBroker({
          config: await devConfig({
            issuerUrl: issuer.url,
            port,
            ...(redisUrl ? { redisUrl } : {}),
          }),
          store: redisUrl ? 'redis' : 'memory',
          logger,
        });
      let running: RunningBroker;
      try {
        running = await start(Number(opts.port));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        logger.warn(`port ${opts.port} is taken; using a free one`);
        // A concrete port, not 0: the broker's URL is the `iss` of the tokens it signs.
        running = await start(await freePort());
      }
      process.stdout.write(
        walkthrough(running.url, issuer.url, redisUrl ? `Redis (${redisUrl})` : 'in memory'),
      );
      process.stdout.write('\n');
      onSignals(running);
    } catch (err) {
      fail(err);
    }
  });

const configCommand = program.command('config').description('Configuration tools');
configCommand
  .command('validate <file>')
  .description(
    'Check a configuration file as serve would, without starting or a Redis; every problem in one run',
  )
  .option(
    '--offline-secrets',
    'stand in for ${env:}/${file:} secrets and TLS/CA files (for CI); lists what was not checked',
  )
  .action(async (file: string, opts: { offlineSecrets?: boolean }) => {
    try {
      const { validateConfigFile } = await import('./config/validate.js');
      const result = validateConfigFile(file, { offlineSecrets: opts.offlineSecrets === true });
      if (result.unchecked.length > 0) {
        console.error(`not checked (--offline-secrets):\n  - ${result.unchecked.join('\n  - ')}`);
      }
      if (result.issues.length > 0) fail(new ConfigError(result.issues));
      console.log(`ok: ${result.summary ?? ''}`);
      process.exit(0);
    } catch (err) {
      fail(err);
    }
  });
configCommand
  .command('schema')
  .description('Print the JSON Schema of the configuration file (config.schema.json)')
  .action(async () => {
    const { configJsonSchema } = await import('./config/json-schema.js');
    process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  });

program
  .command('operators')
  .description('Operator access')
  .command('token')
  .description('Generate a break-glass token; prints the token once and the config entry to add')
  .requiredOption('--name <name>', 'entry name, e.g. oncall')
  .addOption(new Option('--role <role>', 'role').choices(OPERATOR_ROLES).default('revoker'))
  .option('--expires <duration>', 'validity, e.g. 12h or 7d', '24h')
  .action((opts: { name: string; role: string; expires: string }) => {
    const ms = parseDuration(opts.expires);
    if (ms === undefined) fail(new Error(`--expires: not a duration: ${opts.expires}`));
    const { token, hash } = generateBreakGlassToken();
    const entry = {
      name: opts.name,
      hash,
      role: opts.role,
      expires_at: new Date(Date.now() + ms).toISOString(),
    };
    process.stderr.write('Break-glass token (shown once; store it offline):\n');
    process.stdout.write(`${token}\n`);
    process.stderr.write(`\nAdd under operators.break_glass:\n${stringify([entry])}`);
  });

program
  .command('openapi')
  .description('Print the OpenAPI document generated from the route definitions')
  .action(async () => {
    const { createApp, openApiDocument } = await import('./app.js');
    const app = createApp({} as ApiServices);
    process.stdout.write(stringify(openApiDocument(app), { lineWidth: 0 }));
  });

program
  .command('access')
  .description('Print who may call each route: the access table as the README shows it')
  .action(async () => {
    const [{ accessMarkdown }, { createApp }] = await Promise.all([
      import('./api/access-doc.js'),
      import('./app.js'),
    ]);
    process.stdout.write(`${accessMarkdown(createApp({} as ApiServices))}\n`);
  });

program
  .command('errors')
  .description('Print every problem code with its status and meaning, as docs/errors.md shows it')
  .action(async () => {
    const { errorsMarkdown } = await import('./api/errors-doc.js');
    process.stdout.write(errorsMarkdown());
  });

const cliIo: OperatorIo = {
  env: process.env,
  fetch: globalThis.fetch,
  out: (line) => process.stdout.write(`${line}\n`),
  warn: (line) => process.stderr.write(`${line}\n`),
  read: async (path) => readFileSync(path === '-' ? 0 : path, 'utf8'),
};
program
  .command('detections')
  .description('Detections: rules over the broker\u2019s own events')
  .command('replay')
  .description(
    'Run the detections of a configuration over recorded events (an `events export` file, - for stdin, or `stream` for the Redis Stream) and print what would have fired and when',
  )
  .requiredOption('--config <file>', 'the configuration whose detections and workloads to run')
  .requiredOption('--from <file|stream>', 'an export (native JSON lines or OCSF), - or stream')
  .option('--since <duration>', 'only events of the last <duration>, e.g. 7d')
  .option('--redis-url <url>', 'with --from stream: the broker\u2019s Redis [env REDIS_URL]')
  .option('--prefix <prefix>', 'with --from stream: redis.key_prefix', 'jit')
  .option('--stream <name>', 'with --from stream: events.redis_stream.stream', 'events')
  .action(async (opts, command: Command) => {
    const { runReplay } = await import('./cli/detections.js');
    const { output } = command.optsWithGlobals<{ output?: string }>();
    await runReplay(cliIo, opts, output ?? 'table').catch(fail);
  });
registerOperatorCommands(program, cliIo);
registerAwsCommands(program, cliIo);

program.parseAsync(process.argv).catch(fail);
