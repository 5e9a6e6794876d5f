import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import {
  AGENT_SUBJECT,
  GITHUB_TARGET,
  MCP_SERVER_SUBJECT,
  type McpStack,
  startMcpStack,
} from '../helpers/mcp-stack.js';

/**
 * examples/mcp-github-server run as its README says: the server and the client script as
 * processes, configured by environment variables and token files, against a real broker and
 * the GitHub fake.
 */

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');

let stack: McpStack;
let dir: string;
let server: ChildProcess | undefined;
let port: number;

function run(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(TSX, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

beforeAll(async () => {
  port = await freePort();
  // The broker's resource is the URL the example process listens on.
  stack = await startMcpStack({ publicUrl: `http://127.0.0.1:${port}` });
  dir = mkdtempSync(join(tmpdir(), 'jit-mcp-example-'));
  writeFileSync(join(dir, 'server-token'), await stack.h.workloadToken(MCP_SERVER_SUBJECT));
  writeFileSync(join(dir, 'agent-token'), await stack.h.workloadToken(AGENT_SUBJECT));
}, 30_000);

afterAll(async () => {
  if (server?.exitCode === null) server.kill('SIGKILL');
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('examples/mcp-github-server as processes', () => {
  it('the server and the client script read a file with only token files and URLs', async () => {
    const started = run('examples/mcp-github-server/server.ts', {
      JIT_BROKER_URL: stack.brokerUrl,
      JIT_TOKEN_FILE: join(dir, 'server-token'),
      GITHUB_TARGET,
      GITHUB_API_URL: stack.github.url,
      PORT: String(port),
    });
    server = started.child;
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (started.output().includes('MCP server at')) {
          clearInterval(poll);
          resolve();
        } else if (started.child.exitCode !== null) {
          clearInterval(poll);
          reject(new Error(`server exited: ${started.output()}`));
        }
      }, 50);
    });
    expect(started.output()).toContain(`MCP server at http://127.0.0.1:${port}/mcp`);

    const client = run(
      'examples/mcp-github-server/client.ts',
      {
        MCP_URL: `http://127.0.0.1:${port}/mcp`,
        JIT_BROKER_ISSUER: stack.brokerUrl,
        JIT_TOKEN_FILE: join(dir, 'agent-token'),
        JIT_CLIENT_ID: 'agent-a',
      },
      ['acme/api', 'README.md'],
    );
    expect(await client.exited).toBe(0);
    expect(client.output()).toContain('tools: read_file');
    expect(client.output()).toContain('hello');
    // Every installation token the call used is revoked by the time the client is done.
    await vi.waitFor(() => expect(stack.github.liveTokens()).toEqual([]));
  }, 60_000);
});
