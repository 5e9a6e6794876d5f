import { readFileSync } from 'node:fs';
import { parseDuration } from '../../config/duration.js';
import { CLI_EXIT } from '../exit-codes.js';
import { CliError } from '../io.js';

/** The program-wide options, as commander gives them (flags already merged with env). */
export interface GlobalOptions {
  url?: string;
  token?: string;
  tokenFile?: string;
  caFile?: string;
  insecureSkipVerify?: boolean;
  timeout?: string;
  output?: OutputFormat;
}

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * Flags first, then the environment: `--token-file` given on the command line beats a
 * JIT_BROKER_TOKEN exported in the shell, as with kubectl and vault.
 */
export function withEnvironment(flags: GlobalOptions, env: NodeJS.ProcessEnv): GlobalOptions {
  const given = (value: string | undefined) =>
    value === undefined || value === '' ? undefined : value;
  const tokenFromFlags = given(flags.token) !== undefined || given(flags.tokenFile) !== undefined;
  const url = given(flags.url) ?? given(env.JIT_BROKER_URL);
  const token = tokenFromFlags ? given(flags.token) : given(env.JIT_BROKER_TOKEN);
  const tokenFile = tokenFromFlags
    ? given(flags.tokenFile)
    : token === undefined
      ? given(env.JIT_BROKER_TOKEN_FILE)
      : undefined;
  const caFile = given(flags.caFile) ?? given(env.JIT_BROKER_CA_FILE);
  const output = flags.output ?? outputFormat(given(env.JIT_BROKER_OUTPUT));
  const timeout = given(flags.timeout);
  return {
    ...(url === undefined ? {} : { url }),
    ...(token === undefined ? {} : { token }),
    ...(tokenFile === undefined ? {} : { tokenFile }),
    ...(caFile === undefined ? {} : { caFile }),
    insecureSkipVerify:
      flags.insecureSkipVerify === true || yes(env.JIT_BROKER_INSECURE_SKIP_VERIFY),
    ...(output === undefined ? {} : { output }),
    ...(timeout === undefined ? {} : { timeout }),
  };
}

function outputFormat(raw: string | undefined): OutputFormat | undefined {
  if (raw === undefined) return undefined;
  const found = OUTPUT_FORMATS.find((f) => f === raw);
  if (found === undefined) {
    throw new CliError(
      `JIT_BROKER_OUTPUT: ${raw} is not one of ${OUTPUT_FORMATS.join(', ')}`,
      CLI_EXIT.usage,
    );
  }
  return found;
}

/** Only an explicit yes: `JIT_BROKER_INSECURE_SKIP_VERIFY=0` must not turn checks off. */
function yes(raw: string | undefined): boolean {
  if (raw === undefined || raw === '') return false;
  if (/^(1|true|yes)$/i.test(raw)) return true;
  if (/^(0|false|no)$/i.test(raw)) return false;
  throw new CliError(
    `JIT_BROKER_INSECURE_SKIP_VERIFY: ${raw} is not 1/true/yes or 0/false/no`,
    CLI_EXIT.usage,
  );
}

/** Where and how to reach the broker, checked before anything is sent. */
export interface BrokerTarget {
  base: URL;
  token: string | undefined;
  ca: string | undefined;
  insecureSkipVerify: boolean;
  timeoutMs: number;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopback(url: URL): boolean {
  return LOOPBACK.has(url.hostname);
}

/**
 * The broker's URL and the operator token from flags or the environment. A token is
 * refused over plain http to anything but loopback, as the SDK refuses it: an operator
 * token in clear on a network is a revoker's power handed to whoever listens.
 */
export function brokerTarget(
  options: GlobalOptions,
  needs: { token: boolean },
  warn: (line: string) => void,
): BrokerTarget {
  if (options.url === undefined || options.url === '') {
    throw new CliError(
      'no broker: pass --url or set JIT_BROKER_URL, e.g. https://broker.internal',
      CLI_EXIT.usage,
    );
  }
  const base = parseBase(options.url);
  const token = readToken(options);
  if (needs.token && token === undefined) {
    throw new CliError(
      'no token: pass --token or --token-file, or set JIT_BROKER_TOKEN or JIT_BROKER_TOKEN_FILE (an operator JWT or a break-glass token)',
      CLI_EXIT.usage,
    );
  }
  if (token !== undefined && base.protocol === 'http:' && !isLoopback(base)) {
    throw new CliError(
      `refusing to send a token over plain http to ${base.host}: use https:// (plain http is for loopback only)`,
      CLI_EXIT.usage,
    );
  }
  const insecureSkipVerify = options.insecureSkipVerify === true;
  if (insecureSkipVerify && base.protocol === 'https:') {
    warn(
      `WARNING: --insecure-skip-verify: the certificate of ${base.host} is NOT checked; anyone on the path can read the token and forge the answers. Use --ca-file instead.`,
    );
  }
  return {
    base,
    token,
    ca: options.caFile === undefined ? undefined : readSetting(options.caFile, '--ca-file'),
    insecureSkipVerify,
    timeoutMs: timeoutMs(options.timeout),
  };
}

function parseBase(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`--url: not a URL: ${raw}`, CLI_EXIT.usage);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CliError(`--url: must be https:// (or http:// to loopback): ${raw}`, CLI_EXIT.usage);
  }
  // Credentials in the URL would end up in error messages and shell history.
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new CliError('--url: must not carry credentials, a query or a fragment', CLI_EXIT.usage);
  }
  return url;
}

function readToken(options: GlobalOptions): string | undefined {
  if (options.token !== undefined && options.token !== '') {
    if (options.tokenFile !== undefined && options.tokenFile !== '') {
      throw new CliError('give --token or --token-file, not both', CLI_EXIT.usage);
    }
    return options.token.trim();
  }
  if (options.tokenFile !== undefined && options.tokenFile !== '') {
    const token = readSetting(options.tokenFile, '--token-file').trim();
    if (token === '')
      throw new CliError(`--token-file: ${options.tokenFile} is empty`, CLI_EXIT.usage);
    return token;
  }
  return undefined;
}

function readSetting(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError(`${option}: cannot read ${path} (${code})`, CLI_EXIT.usage);
  }
}

function timeoutMs(raw: string | undefined): number {
  if (raw === undefined) return 30_000;
  const ms = parseDuration(raw);
  if (ms === undefined || ms <= 0) {
    throw new CliError(`--timeout: not a duration: ${raw} (e.g. 30s, 500ms, 2m)`, CLI_EXIT.usage);
  }
  return ms;
}
