import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOperatorCommands } from '../../src/cli/operator.js';
import { canonicalize } from '../../src/events/canonical.js';
import { eventHash, GENESIS_PREV } from '../../src/events/chain.js';
import { toOcsf } from '../../src/events/ocsf.js';
import type { BrokerEvent } from '../../src/events/types.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';

const ROOT = resolve(import.meta.dirname, '../..');

function ed25519(): { key: KeyObject; private: string; public: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    key: privateKey,
    private: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    public: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

const ACTIVE = ed25519();
const NEXT = ed25519();
const RETIRED = ed25519();
const ATTACKER = ed25519();
const PRIVATE_PEMS = [ACTIVE, NEXT, RETIRED].map((k) => k.private);

const SIGNING = {
  keys: [
    { kid: 'audit-2026', private_key: ACTIVE.private, state: 'active' },
    { kid: 'audit-2027', private_key: NEXT.private, state: 'next' },
    { kid: 'audit-2025', public_key: RETIRED.public, state: 'retired' },
  ],
};

/** A `${file:…}` reference in a config file. */
const fileRef = (name: string) => `\${file:${name}}`;

/** The line of base64 in the middle of a PEM: what a leak would show. */
const body = (pem: string) => pem.split('\n')[1] ?? pem;

const lines = (events: readonly unknown[]) =>
  `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;

/**
 * What a forger with a key of their own can do: from `from` on, relink every event and
 * re-sign genesis and checkpoints, claiming `kid`. From 0, the genesis announces the
 * forger's key.
 */
function rechain(events: readonly BrokerEvent[], from: number, kid: string): BrokerEvent[] {
  const out: BrokerEvent[] = events.slice(0, from);
  for (const original of events.slice(from)) {
    const { sig: _sig, ...event } = original;
    const previous = out.at(-1);
    event.prev = previous === undefined ? GENESIS_PREV : eventHash(previous);
    if (event.type === 'chain.genesis') {
      const x = ATTACKER.key.export({ format: 'jwk' }).x as string;
      event.detail = { ...event.detail, kid, public_key: { kty: 'OKP', crv: 'Ed25519', x } };
    }
    if (event.type === 'chain.checkpoint')
      event.detail = { ...event.detail, kid, upto_hash: event.prev };
    if (event.type === 'chain.genesis' || event.type === 'chain.checkpoint') {
      const sig = sign(null, Buffer.from(canonicalize(event)), ATTACKER.key).toString('base64url');
      out.push({ ...event, sig });
    } else {
      out.push(event);
    }
  }
  return out;
}

describe('events verify and events keys', () => {
  let h: Harness;
  let ocsfHarness: Harness;
  let dir: string;
  let exported: BrokerEvent[];
  let ocsfText: string;
  let jwksFile: string;
  const outputs: string[] = [];

  async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
    const out: string[] = [];
    const program = new Command('jit-broker').exitOverride().configureOutput({
      writeErr: (text) => out.push(text),
    });
    registerOperatorCommands(program, {
      env,
      fetch,
      out: (line) => out.push(line),
      read: async (path) => readFileSync(path, 'utf8'),
    });
    try {
      await program.parseAsync(['node', 'jit-broker', ...args]);
    } catch (err) {
      outputs.push(...out, (err as Error).message);
      Object.assign(err as object, { output: out.join('\n') });
      throw err;
    }
    outputs.push(...out);
    return out.join('\n');
  }

  /** The exit code and output of a failed run. */
  async function refused(args: string[]): Promise<{ exitCode: number; output: string }> {
    try {
      await run(args);
    } catch (err) {
      const { exitCode, output } = err as { exitCode: number; output: string };
      return { exitCode, output };
    }
    throw new Error(`expected ${args.join(' ')} to fail`);
  }

  function file(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  /** A broker that issues, revokes a workload with a reason, and shuts its chain down. */
  async function trail(format: 'json' | 'ocsf'): Promise<Harness> {
    const harness = await startHarness({
      listen: format === 'json',
      configure: (raw) => {
        const events = raw.events as Record<string, unknown>;
        events.signing = SIGNING;
        events.stdout = { enabled: true, format };
      },
    });
    const agent = await harness.workloadToken('spiffe://test/agent-a');
    const issued = await harness.request('/v1/credentials', {
      method: 'POST',
      token: agent,
      json: {
        target: 'tickets',
        scope: { scopes: ['tickets:read'] },
        task: { id: 'audit-1', intent: 'triage' },
      },
    });
    expect(issued.status).toBe(201);
    const revoked = await harness.request('/v1/workloads/agent-b/revoke', {
      method: 'POST',
      token: await harness.operatorToken(['admin']),
      json: { reason: 'token leaked in a CI log', block: false },
    });
    expect(revoked.status).toBe(200);
    await harness.broker.events.close();
    return harness;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jit-verify-'));
    h = await trail('json');
    exported = h.events.events;
    ocsfHarness = await trail('ocsf');
    ocsfText = ocsfHarness.events.text;
    jwksFile = file('jwks.json', await run(['events', 'keys', '--url', h.broker.url]));
  });
  afterAll(async () => {
    await h.close();
    await ocsfHarness.close();
    rmSync(dir, { recursive: true, force: true });
    // Whatever the commands printed, no private key was among it.
    const all = outputs.join('\n') + h.logs.text + h.events.text + ocsfText;
    for (const pem of PRIVATE_PEMS) expect(all).not.toContain(body(pem));
  });

  it('events keys prints the published set, from the broker or from the config file', async () => {
    const published = JSON.parse(readFileSync(jwksFile, 'utf8')) as { keys: { kid: string }[] };
    expect(published.keys.map((k) => k.kid)).toEqual(['audit-2026', 'audit-2027', 'audit-2025']);
    expect(published).toEqual(
      await (await fetch(`${h.broker.url}/.well-known/jit-audit-keys.json`)).json(),
    );

    file('active.pem', ACTIVE.private);
    file('next.pem', NEXT.private);
    file('retired.pub', RETIRED.public);
    const config = file(
      'broker.yaml',
      [
        'encryption:',
        `  keys: [{ id: k1, key: ${Buffer.alloc(32, 1).toString('base64')} }]`,
        'events:',
        '  signing:',
        '    keys:',
        `      - { kid: audit-2026, private_key: "${fileRef('active.pem')}", state: active }`,
        `      - { kid: audit-2027, private_key: "${fileRef('next.pem')}", state: next }`,
        `      - { kid: audit-2025, public_key: "${fileRef('retired.pub')}", state: retired }`,
      ].join('\n'),
    );
    const fromConfig = JSON.parse(await run(['events', 'keys', '--config', config]));
    expect(fromConfig).toEqual(published);
    // The broker's own URL is the default.
    const fromEnv = JSON.parse(await run(['events', 'keys'], { JIT_BROKER_URL: h.broker.url }));
    expect(fromEnv).toEqual(published);

    const bare = file('bare.yaml', 'encryption:\n  keys: [{ id: k1, key: "AAAA" }]\n');
    await expect(run(['events', 'keys', '--config', bare])).rejects.toThrow(
      /configures no audit keys/,
    );
  });

  it('an intact export verifies against the published keys, from a file or the URL (exit 0)', async () => {
    const trail = file('trail.jsonl', lines(exported));
    const output = await run(['events', 'verify', '--jwks', jwksFile, trail]);
    expect(output).toContain('anchor: --jwks');
    expect(output).toMatch(
      /ins_\w+ seq 0–\d+ \(\d+ events\): ok: every event signed \(by audit-2026\); ends with the shutdown checkpoint/,
    );
    const url = `${h.broker.url}/.well-known/jit-audit-keys.json`;
    await expect(run(['events', 'verify', '--jwks', url, trail])).resolves.toMatch(/: ok: /);
    const pem = file('active.pub', ACTIVE.public);
    await expect(run(['events', 'verify', '--public-key', pem, trail])).resolves.toMatch(/: ok: /);
  });

  it('rotation: the same export verifies with the key set after rotation, where its key is retired', async () => {
    file('old.pub', ACTIVE.public);
    file('new.pem', NEXT.private);
    const rotated = file(
      'rotated.yaml',
      [
        'encryption:',
        `  keys: [{ id: k1, key: ${Buffer.alloc(32, 1).toString('base64')} }]`,
        'events:',
        '  signing:',
        '    keys:',
        `      - { kid: audit-2027, private_key: "${fileRef('new.pem')}", state: active }`,
        `      - { kid: audit-2026, public_key: "${fileRef('old.pub')}", state: retired }`,
      ].join('\n'),
    );
    const jwks = file('rotated.json', await run(['events', 'keys', '--config', rotated]));
    const trail = file('trail.jsonl', lines(exported));
    await expect(run(['events', 'verify', '--jwks', jwks, trail])).resolves.toMatch(/: ok: /);
  });

  it('a copy re-signed under another key, with a changed reason, fails against the JWKS at its genesis', async () => {
    const revoked = exported.findIndex((e) => e.type === 'workload.revoked');
    expect(exported[revoked]?.reason).toBe('token leaked in a CI log');
    const edited = exported.map((e, i) =>
      i === revoked ? { ...e, reason: 'routine rotation' } : e,
    );
    const forged = rechain(edited, 0, 'audit-2026');
    const forgedFile = file('forged.jsonl', lines(forged));

    const { exitCode, output } = await refused([
      'events',
      'verify',
      '--jwks',
      jwksFile,
      forgedFile,
    ]);
    expect(exitCode).toBe(1);
    const genesis = forged[0];
    expect(output).toContain(`${genesis?.instance} seq 0–`);
    expect(output).toContain(`INVALID at seq 0 (${genesis?.id}, chain.genesis)`);
    expect(output).toMatch(/announces key audit-2026 .* not among the anchored keys/);

    // Without an anchor the forgery is as good as the original: said loudly, and exit 2...
    const unanchored = await refused(['events', 'verify', forgedFile]);
    expect(unanchored.exitCode).toBe(2);
    expect(unanchored.output).toContain('NO ANCHOR');
    expect(unanchored.output).toMatch(/: ok: /);
    // ...unless the caller accepts that for what it is.
    await expect(run(['events', 'verify', '--trust-embedded-key', forgedFile])).resolves.toContain(
      'NO ANCHOR',
    );
  });

  it('a copy re-signed after its genesis fails at the checkpoint covering the change, naming both', async () => {
    const revoked = exported.findIndex((e) => e.type === 'workload.revoked');
    const edited = exported.map((e, i) =>
      i === revoked ? { ...e, reason: 'routine rotation' } : e,
    );
    const forged = rechain(edited, revoked, 'audit-2026');
    const { exitCode, output } = await refused([
      'events',
      'verify',
      '--jwks',
      jwksFile,
      file('resigned.jsonl', lines(forged)),
    ]);
    expect(exitCode).toBe(1);
    const checkpoint = forged.slice(revoked).find((e) => e.type === 'chain.checkpoint');
    expect(output).toContain(
      `INVALID at seq ${checkpoint?.seq} (${checkpoint?.id}, chain.checkpoint)`,
    );
    const range = /seq (\d+)–(\d+), which it covers, are not authenticated/.exec(output);
    expect(Number(range?.[1])).toBeLessThanOrEqual(revoked);
    expect(Number(range?.[2])).toBeGreaterThanOrEqual(revoked);
  });

  it('an edited event is named as the one altered', async () => {
    const revoked = exported.findIndex((e) => e.type === 'workload.revoked');
    const edited = exported.map((e, i) =>
      i === revoked ? { ...e, reason: 'routine rotation' } : e,
    );
    const { exitCode, output } = await refused([
      'events',
      'verify',
      '--jwks',
      jwksFile,
      file('edited.jsonl', lines(edited)),
    ]);
    expect(exitCode).toBe(1);
    const victim = exported[revoked];
    expect(output).toContain(
      `INVALID at seq ${victim?.seq} (${victim?.id}, workload.revoked):\n  it was altered`,
    );
  });

  it('a truncated tail is reported with its own exit code (3)', async () => {
    expect(exported.at(-1)?.detail?.final).toBe(true);
    const withoutEnd = exported.slice(0, -1);
    const cut = await refused([
      'events',
      'verify',
      '--jwks',
      jwksFile,
      file('cut.jsonl', lines(withoutEnd)),
    ]);
    expect(cut.exitCode).toBe(3);
    expect(cut.output).toMatch(
      /TAIL NOT COVERED: \d+ events from seq \d+ \(evt_\w+, [\w.]+\) on come after the last checkpoint/,
    );

    const lastSigned = withoutEnd.findLastIndex((e) => e.sig !== undefined);
    const atCheckpoint = exported.slice(0, lastSigned + 1);
    const early = await refused([
      'events',
      'verify',
      '--jwks',
      jwksFile,
      file('early.jsonl', lines(atCheckpoint)),
    ]);
    expect(early.exitCode).toBe(3);
    expect(early.output).toMatch(/does not end with the shutdown checkpoint/);
  });

  it('a cut-off head is reported like a cut-off tail (3), unless the export is a window', async () => {
    const withoutHead = file('head.jsonl', lines(exported.slice(3)));
    const cut = await refused(['events', 'verify', '--jwks', jwksFile, withoutHead]);
    expect(cut.exitCode).toBe(3);
    expect(cut.output).toMatch(/HEAD NOT COVERED: the run starts at seq 3, not at its genesis/);
    await expect(
      run(['events', 'verify', '--jwks', jwksFile, '--allow-partial', withoutHead]),
    ).resolves.toMatch(/: ok: /);
  });

  it('the OCSF the sinks write verifies too, and an edit to it is caught', async () => {
    expect(ocsfText).toContain('"class_uid"');
    const trail = file('trail.ocsf.jsonl', ocsfText);
    await expect(run(['events', 'verify', '--jwks', jwksFile, trail])).resolves.toMatch(
      /: ok: every event signed \(by audit-2026\); ends with the shutdown checkpoint/,
    );
    const edited = ocsfText.replace(
      '"status_detail":"token leaked in a CI log"',
      '"status_detail":"routine"',
    );
    expect(edited).not.toBe(ocsfText);
    const { exitCode, output } = await refused([
      'events',
      'verify',
      '--jwks',
      jwksFile,
      file('edited.ocsf.jsonl', edited),
    ]);
    expect(exitCode).toBe(1);
    // The first event carrying the kill switch's reason: its start (`workload.revoking`).
    expect(output).toMatch(/INVALID at seq \d+ \(evt_\w+, workload\.revoking\)/);
    // The fields analysts read but the signature does not carry directly are checked too: the
    // actor and message of the kill switch, rewritten in the SIEM's copy, fail the chain.
    const forged = ocsfText
      .split('\n')
      .map((line) => {
        if (!line.includes('"workload.revoked"')) return line;
        const doc = JSON.parse(line) as Record<string, unknown>;
        return JSON.stringify({ ...doc, actor: { user: { name: 'mallory' } }, message: 'routine' });
      })
      .join('\n');
    expect(forged).not.toBe(ocsfText);
    const visible = await refused([
      'events',
      'verify',
      '--jwks',
      jwksFile,
      file('forged.ocsf.jsonl', forged),
    ]);
    expect(visible.exitCode).toBe(1);
    expect(visible.output).toMatch(/INVALID at seq \d+ \(evt_\w+, workload\.revoked\)/);
    // The native events, mapped and read back, are the same chain.
    const mapped = file('mapped.ocsf.jsonl', lines(exported.map(toOcsf)));
    await expect(run(['events', 'verify', '--jwks', jwksFile, mapped])).resolves.toMatch(/: ok: /);
  });

  it('usage errors exit 2 and never quote a key', async () => {
    const trail = file('trail.jsonl', lines(exported));
    expect((await refused(['events', 'verify', '--no-such-option', trail])).exitCode).toBe(2);
    const privatePem = file('oops.pem', ACTIVE.private);
    const wrongKey = await refused(['events', 'verify', '--public-key', privatePem, trail]);
    expect(wrongKey).toMatchObject({ exitCode: 2 });
    const { message } = (await run(['events', 'verify', '--public-key', privatePem, trail]).catch(
      (err: Error) => err,
    )) as Error;
    expect(message).toMatch(/holds a private key/);
    expect(message).not.toContain(body(ACTIVE.private));
    expect(
      (await refused(['events', 'verify', '--jwks', 'http://keys.example/jwks.json', trail]))
        .exitCode,
    ).toBe(2);
    expect(
      (await refused(['events', 'verify', '--jwks', join(dir, 'missing.json'), trail])).exitCode,
    ).toBe(2);
  });

  it('the jit-broker process exits with those codes', () => {
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'events', 'verify', ...args], {
        cwd: ROOT,
        encoding: 'utf8',
      });
    const revoked = exported.findIndex((e) => e.type === 'workload.revoked');
    const edited = exported.map((e, i) => (i === revoked ? { ...e, reason: 'x' } : e));
    expect(cli(['--jwks', jwksFile, file('ok.jsonl', lines(exported))]).status).toBe(0);
    expect(cli(['--jwks', jwksFile, file('bad.jsonl', lines(edited))]).status).toBe(1);
    expect(cli([file('plain.jsonl', lines(exported))]).status).toBe(2);
    const tail = cli(['--jwks', jwksFile, file('tail.jsonl', lines(exported.slice(0, -1)))]);
    expect(tail.status).toBe(3);
    expect(tail.stderr).toMatch(/not covered by a signature/);
    // Four processes, each compiling the CLI from source: slow on a loaded machine.
  }, 120_000);
});
