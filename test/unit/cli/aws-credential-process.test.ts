import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { credentialProcessJson, registerAwsCommands } from '../../../src/cli/aws.js';
import { CLI_EXIT } from '../../../src/cli/exit-codes.js';
import { registerGlobalOptions } from '../../../src/cli/global-options.js';
import { CliError } from '../../../src/cli/io.js';

const NOW = Date.parse('2030-01-01T00:00:00.000Z');
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY';
const SESSION = 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN';

function answer(credential: Record<string, unknown> = {}, expiresAt = NOW + 300_000) {
  const expires = new Date(expiresAt).toISOString();
  return {
    lease_id: 'lse_1',
    expires_at: expires,
    credential: {
      access_key_id: 'ASIAEXAMPLE000000001',
      secret_access_key: SECRET,
      session_token: SESSION,
      expires_at: expires,
      session_expires_at: new Date(NOW + 900_000).toISOString(),
      region: 'eu-west-1',
      role_arn: 'arn:aws:iam::123456789012:role/agents',
      ...credential,
    },
  };
}

describe('credentialProcessJson', () => {
  it('is the document AWS credential_process reads, with the broker’s expiry', () => {
    expect(JSON.parse(credentialProcessJson(answer(), NOW))).toEqual({
      Version: 1,
      AccessKeyId: 'ASIAEXAMPLE000000001',
      SecretAccessKey: SECRET,
      SessionToken: SESSION,
      Expiration: '2030-01-01T00:05:00.000Z',
    });
  });

  it('prints only the five fields, whatever else the answer carries', () => {
    const extra = {
      ...answer({ Version: 2, Expiration: '2099-01-01T00:00:00Z', region: 'x' }),
      Version: 2,
      AccessKeyId: 'AKIAINJECTED',
    };
    expect(Object.keys(JSON.parse(credentialProcessJson(extra, NOW)))).toEqual([
      'Version',
      'AccessKeyId',
      'SecretAccessKey',
      'SessionToken',
      'Expiration',
    ]);
    expect(JSON.parse(credentialProcessJson(extra, NOW))).toMatchObject({
      Version: 1,
      AccessKeyId: 'ASIAEXAMPLE000000001',
      Expiration: '2030-01-01T00:05:00.000Z',
    });
  });

  it('takes the lease’s expiry when it is earlier than the credential’s', () => {
    const early = { ...answer(), expires_at: new Date(NOW + 60_000).toISOString() };
    expect(JSON.parse(credentialProcessJson(early, NOW)).Expiration).toBe(
      '2030-01-01T00:01:00.000Z',
    );
  });

  it('refuses an answer that is not a whole AWS session, naming the field and quoting no secret', () => {
    for (const [field, broken] of [
      ['session_token', answer({ session_token: undefined })],
      ['access_key_id', answer({ access_key_id: 'has space' })],
      ['secret_access_key', answer({ secret_access_key: null })],
      ['expires_at', answer({ expires_at: 'tomorrow' })],
      ['expires_at', { ...answer(), expires_at: undefined }],
      ['credential', { ...answer(), credential: 'x.y.z' }],
      ['credential', null],
    ] as const) {
      let thrown: unknown;
      try {
        credentialProcessJson(broken, NOW);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(CliError);
      const error = thrown as CliError;
      expect(error.exitCode).toBe(CLI_EXIT.failure);
      expect(error.message).toContain(field);
      expect(error.message).not.toContain(SECRET);
      expect(error.message).not.toContain(SESSION);
    }
  });

  it('refuses a credential that has already expired (the SDK would reject it anyway)', () => {
    expect(() => credentialProcessJson(answer({}, NOW), NOW)).toThrow(/already expired/);
  });
});

describe('aws credential-process options', () => {
  async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
    const out: string[] = [];
    const program = new Command('jit-broker').exitOverride();
    program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
    const io = {
      env,
      fetch,
      out: (line: string) => out.push(line),
      warn: () => {},
      read: async () => '',
    };
    registerGlobalOptions(program);
    registerAwsCommands(program, io);
    const error = await program
      .parseAsync(['node', 'jit-broker', 'aws', 'credential-process', ...argv])
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    return { out, error };
  }
  const full = [
    '--url',
    'http://127.0.0.1:1',
    '--token',
    'a.b.c',
    '--target',
    'reports',
    '--action',
    's3:GetObject',
    '--resource',
    'arn:aws:s3:::reports/*',
    '--task',
    't1',
    '--intent',
    'summarize',
  ];
  const without = (flag: string) => {
    const i = full.indexOf(flag);
    return [...full.slice(0, i), ...full.slice(i + 2)];
  };

  it('a usage error prints nothing on stdout and exits 2', async () => {
    for (const argv of [
      without('--url'),
      without('--token'),
      without('--action'),
      without('--resource'),
      [...full, '--ttl', '0'],
      [...full, '--ttl', '86401'],
      [...full, '--ttl', '1.5'],
      ['--url', 'http://broker.example.com', ...without('--url')],
    ]) {
      const { out, error } = await run(argv);
      expect(out).toEqual([]);
      expect(error).toBeInstanceOf(CliError);
      expect({ argv: argv.join(' '), exit: (error as CliError).exitCode }).toEqual({
        argv: argv.join(' '),
        exit: CLI_EXIT.usage,
      });
    }
  });

  it('a missing --target, --task or --intent is commander’s usage error', async () => {
    for (const flag of ['--target', '--task', '--intent']) {
      const { out, error } = await run(without(flag));
      expect(out).toEqual([]);
      expect(error).toBeInstanceOf(CommanderError);
    }
  });

  it('the URL and token may come from the environment, as for every other command', async () => {
    const { error } = await run(
      without('--url').filter((w) => w !== '--token' && w !== 'a.b.c'),
      {
        JIT_BROKER_URL: 'http://127.0.0.1:1',
        JIT_BROKER_TOKEN: 'a.b.c',
      },
    );
    // It got as far as connecting: the settings were accepted.
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toContain('connection refused');
    expect((error as CliError).exitCode).toBe(CLI_EXIT.failure);
  });
});
