/**
 * Runs the MCP conformance suite (`@modelcontextprotocol/conformance`, Node ≥ 22) against
 * jit-broker's MCP pieces and exits non-zero when an applicable scenario fails:
 *
 * - server scenarios against examples/mcp-github-server, behind its guard, with a real broker
 *   and the GitHub fake. The suite's client sends no token, so it reaches the server through a
 *   small proxy that adds an access token the broker issued by client credentials; Host and
 *   Origin pass through unchanged, so the guard's DNS-rebinding check sees the suite's own.
 * - client auth scenarios against `BrokerClientCredentials` on the SDK client
 *   (test/conformance/client.ts).
 *
 * Usage: node node_modules/tsx/dist/cli.mjs test/conformance/run.ts   (on Node ≥ 22)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { freePort } from '../helpers/free-port.js';
import { AGENT_SUBJECT, type McpStack, startMcpStack } from '../helpers/mcp-stack.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** Server scenarios that apply to an MCP server with tools only, and the tools they call. */
const SERVER_SCENARIOS = [
  'server-initialize',
  'ping',
  'tools-list',
  'tools-call-simple-text',
  'tools-call-error',
  'dns-rebinding-protection',
];

/**
 * Client scenarios, and the checks in each that do not apply to a client-credentials client
 * (the broker has no authorization-code flow and no dynamic registration: those checks
 * fail by design and are recorded as not applicable; every other check must pass).
 */
const INTERACTIVE_CHECKS = ['client-registration', 'authorization-request', 'token-request'];
const CLIENT_SCENARIOS: { name: string; notApplicable: string[] }[] = [
  { name: 'auth/client-credentials-jwt', notApplicable: [] },
  { name: 'auth/metadata-default', notApplicable: INTERACTIVE_CHECKS },
  { name: 'auth/metadata-var1', notApplicable: INTERACTIVE_CHECKS },
  { name: 'auth/metadata-var2', notApplicable: INTERACTIVE_CHECKS },
  { name: 'auth/metadata-var3', notApplicable: INTERACTIVE_CHECKS },
];

/** Scenarios not run, and why (printed with the results). */
export const SKIPPED: Record<string, string> = {
  'logging-set-level, tools-call-with-logging, tools-call-with-progress':
    'the example declares no logging capability and reports no progress',
  'tools-call-image, tools-call-audio, tools-call-embedded-resource, tools-call-mixed-content':
    'the example returns text only',
  'tools-call-sampling, tools-call-elicitation, elicitation-*':
    'the example never asks the client for anything',
  'resources-*, prompts-*, completion-complete': 'the example has tools only',
  'json-schema-2020-12, server-sse-polling, server-sse-multiple-streams':
    'fixtures of the suite’s reference server (named tools, resumable streams) the example does not have',
  'auth/scope-*, auth/basic-cimd, auth/token-endpoint-auth-*, auth/pre-registration, auth/2025-03-26-*, auth/offline-access-*, auth/resource-mismatch':
    'authorization-code flows with a user; the broker issues to machine clients only',
  'auth/client-credentials-basic': 'the broker accepts no client secrets',
  'auth/cross-app-access-complete-flow':
    'drives the client through an enterprise IdP flow it does not implement',
};

/** The suite's fixture tools, added to the example server for the tools-call scenarios. */
function fixtures(server: McpServer): void {
  server.registerTool(
    'test_simple_text',
    { description: 'Conformance fixture: returns a fixed text' },
    async () => ({
      content: [{ type: 'text', text: 'This is a simple text response for testing.' }],
    }),
  );
  server.registerTool(
    'test_error_handling',
    { description: 'Conformance fixture: always fails' },
    async () => {
      throw new Error('This tool intentionally returns an error for testing');
    },
  );
}

async function clientCredentialsToken(stack: McpStack): Promise<string> {
  const response = await fetch(`${stack.brokerUrl}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await stack.h.workloadToken(AGENT_SUBJECT),
      resource: stack.resource,
      scope: 'files:read',
      task_id: 'conformance',
      task_intent: 'mcp',
    }),
  });
  const body = (await response.json()) as { access_token?: string; error?: string };
  if (body.access_token === undefined) throw new Error(`no token: ${body.error}`);
  return body.access_token;
}

/** Forwards to `target` with `Authorization` added; everything else (Host, Origin) as sent. */
function authenticatingProxy(port: number, target: string, token: string): Promise<Server> {
  const upstream = new URL(target);
  const proxy = createServer((req, res) => {
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, authorization: `Bearer ${token}` },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forwarded);
  });
  return new Promise((resolve) => proxy.listen(port, '127.0.0.1', () => resolve(proxy)));
}

function conformance(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('exit', (code) => {
      if (process.env.CONFORMANCE_VERBOSE) process.stdout.write(output);
      resolve({ code, output });
    });
  });
}

/** Every check the suite recorded for one run (it writes `<dir>/…/checks.json`). */
function checksIn(dir: string): { id: string; status: string; errorMessage?: string }[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name === 'checks.json') found.push(path);
    }
  };
  if (existsSync(dir)) walk(dir);
  return found.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')));
}

type Result = { scenario: string; outcome: 'pass' | 'fail'; note: string };

async function serverScenarios(): Promise<Result[]> {
  const proxyPort = await freePort();
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  const stack = await startMcpStack({
    publicUrl: proxyUrl,
    allowedHosts: [`127.0.0.1:${proxyPort}`, `localhost:${proxyPort}`],
    allowedOrigins: [proxyUrl, `http://localhost:${proxyPort}`],
    extend: fixtures,
  });
  const proxy = await authenticatingProxy(
    proxyPort,
    stack.mcp.address,
    await clientCredentialsToken(stack),
  );
  const results: Result[] = [];
  try {
    for (const scenario of SERVER_SCENARIOS) {
      const out = mkdtempSync(join(tmpdir(), 'jit-conformance-'));
      const { code, output } = await conformance([
        'server',
        '--url',
        `${proxyUrl}/mcp`,
        '--scenario',
        scenario,
        '-o',
        out,
      ]);
      const failed = checksIn(out).filter((c) => c.status === 'FAILURE');
      if (code !== 0 || failed.length > 0) process.stdout.write(output);
      results.push({
        scenario,
        outcome: code === 0 && failed.length === 0 ? 'pass' : 'fail',
        note: failed.map((c) => `${c.id}: ${c.errorMessage ?? ''}`).join('; '),
      });
      rmSync(out, { recursive: true, force: true });
    }
  } finally {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await stack.close();
  }
  return results;
}

async function clientScenarios(): Promise<Result[]> {
  const results: Result[] = [];
  const command = `"${process.execPath}" "${TSX}" "${join(ROOT, 'test', 'conformance', 'client.ts')}"`;
  for (const { name, notApplicable } of CLIENT_SCENARIOS) {
    const out = mkdtempSync(join(tmpdir(), 'jit-conformance-'));
    const { output } = await conformance([
      'client',
      '--command',
      command,
      '--scenario',
      name,
      '-o',
      out,
    ]);
    const checks = checksIn(out);
    const failed = checks.filter((c) => c.status === 'FAILURE' && !notApplicable.includes(c.id));
    const passed = checks.filter((c) => c.status === 'SUCCESS').length;
    if (failed.length > 0 || passed === 0) process.stdout.write(output);
    results.push({
      scenario: name,
      outcome: passed > 0 && failed.length === 0 ? 'pass' : 'fail',
      note:
        failed.length > 0
          ? failed.map((c) => `${c.id}: ${c.errorMessage ?? ''}`).join('; ')
          : notApplicable.length > 0
            ? `${passed} checks passed; not applicable: ${notApplicable.join(', ')}`
            : `${passed} checks passed`,
    });
    rmSync(out, { recursive: true, force: true });
  }
  return results;
}

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  console.error(`the conformance suite needs Node >= 22 (this is ${process.version})`);
  process.exit(2);
}
const results = [...(await serverScenarios()), ...(await clientScenarios())];
for (const r of results)
  console.log(
    `${r.outcome === 'pass' ? 'PASS' : 'FAIL'}  ${r.scenario}${r.note ? `  (${r.note})` : ''}`,
  );
for (const [scenarios, why] of Object.entries(SKIPPED)) console.log(`SKIP  ${scenarios}: ${why}`);
const failures = results.filter((r) => r.outcome === 'fail').length;
console.log(`conformance: ${results.length - failures} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
