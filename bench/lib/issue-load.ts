import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { ServerCommand, ServerReport, ServerSpec } from './issue-server.js';

const SERVER = fileURLToPath(new URL('./issue-server.ts', import.meta.url));

/** A server of the bench in its own process, whose CPU time can be read at any moment. */
export class ServerProcess {
  readonly #child: ChildProcess;
  readonly #waiting: Array<(report: ServerReport) => void> = [];
  url = '';

  private constructor(
    readonly label: string,
    execArgv: readonly string[],
  ) {
    // The child inherits tsx's loader through execArgv, so it runs TypeScript as we do.
    this.#child = fork(SERVER, [], {
      execArgv: [...process.execArgv, ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (report: ServerReport) => this.#waiting.shift()?.(report));
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  static async start(
    label: string,
    spec: ServerSpec,
    execArgv: readonly string[] = [],
  ): Promise<ServerProcess> {
    const server = new ServerProcess(label, execArgv);
    const ready = await server.#ask({ type: 'start', spec });
    if (ready.type !== 'ready') throw new Error(`${label} did not start: ${describe(ready)}`);
    server.url = ready.url;
    return server;
  }

  /** CPU time (user + system, µs) the process has used so far. */
  async cpu(): Promise<number> {
    const report = await this.#ask({ type: 'cpu' });
    if (report.type !== 'cpu') throw new Error(`${this.label}: ${describe(report)}`);
    return report.micros;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    const report = await this.#ask({ type: 'stop' });
    if (report.type !== 'stopped') throw new Error(`${this.label}: ${describe(report)}`);
    await exited;
  }

  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }

  #ask(command: ServerCommand): Promise<ServerReport> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`${this.label} exited (${code}) before answering ${command.type}`));
      this.#child.once('exit', onExit);
      this.#waiting.push((report) => {
        this.#child.off('exit', onExit);
        resolve(report);
      });
      this.#child.send(command);
    });
  }
}

function describe(report: ServerReport): string {
  return report.type === 'failed' ? report.error : report.type;
}

export interface LoadRequest {
  method: 'POST';
  path: string;
  /** Called for every request: its headers and body (a fresh token, a distinct task id). */
  next(): { headers: Record<string, string>; body: string };
}

export interface LoadOptions {
  connections: number;
  durationSeconds: number;
  /** A fixed offered rate (req/s over all connections) instead of a closed loop. */
  overallRate?: number;
}

export interface PointResult {
  ok: number;
  failed: number;
  errors: number;
  seconds: number;
  reqPerSec: number;
  p50: number;
  p90: number;
  p99: number;
  /** Server CPU (user + system) per successful request, µs. */
  cpuPerRequest: number;
}

/** What the bench's own Redis has done so far (every client of it counted). */
export interface RedisCounters {
  cpuMicros: number;
  /** Commands run, those run inside scripts included. */
  commands: number;
  scripts: number;
}

export interface RedisPerRequest {
  redisCpuPerRequest: number;
  redisCommandsPerRequest: number;
  redisScriptsPerRequest: number;
}

/** One measured point: autocannon against the server, the server's CPU read around it. */
export async function measure(
  server: ServerProcess,
  request: LoadRequest,
  options: LoadOptions,
  redis?: () => Promise<RedisCounters>,
): Promise<PointResult & Partial<RedisPerRequest>> {
  const cpuBefore = await server.cpu();
  const redisBefore = await redis?.();
  const result = await autocannon({
    url: server.url,
    connections: options.connections,
    duration: options.durationSeconds,
    ...(options.overallRate === undefined ? {} : { overallRate: options.overallRate }),
    requests: [
      {
        method: request.method,
        path: request.path,
        setupRequest: (req) => {
          const { headers, body } = request.next();
          return { ...req, headers: { ...req.headers, ...headers }, body };
        },
      },
    ],
  });
  const cpuAfter = await server.cpu();
  const redisAfter = await redis?.();
  const ok = result['2xx'];
  const seconds = result.duration;
  const perOk = (micros: number) => (ok > 0 ? micros / ok : 0);
  return {
    ok,
    failed: result.non2xx,
    errors: result.errors + result.timeouts,
    seconds,
    reqPerSec: ok / seconds,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    cpuPerRequest: perOk(cpuAfter - cpuBefore),
    ...(redisBefore === undefined || redisAfter === undefined
      ? {}
      : {
          redisCpuPerRequest: perOk(redisAfter.cpuMicros - redisBefore.cpuMicros),
          redisCommandsPerRequest: perOk(redisAfter.commands - redisBefore.commands),
          redisScriptsPerRequest: perOk(redisAfter.scripts - redisBefore.scripts),
        }),
  };
}
