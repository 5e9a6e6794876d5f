import { Command } from 'commander';
import { type OperatorIo, registerOperatorCommands } from '../../src/cli/operator.js';

export interface OperatorRun {
  /** The variables the CLI reads (`JIT_BROKER_URL`, `JIT_BROKER_TOKEN`), and only these. */
  env: NodeJS.ProcessEnv;
  /** What the CLI reads from stdin or a named file; nothing by default. */
  read?: OperatorIo['read'];
  /** Where the printed lines go: pass one to keep what was printed before a failure. */
  out?: string[];
}

/**
 * Runs `jit-broker <args>` in process, over the real fetch, and returns the lines it printed.
 * A failing command throws what the CLI throws (its `exitCode` and message) unchanged.
 */
export async function runOperatorCli(args: string[], run: OperatorRun): Promise<string[]> {
  const out = run.out ?? [];
  const program = new Command('jit-broker').exitOverride();
  registerOperatorCommands(program, {
    env: run.env,
    fetch,
    out: (line) => out.push(line),
    read: run.read ?? (async () => ''),
  });
  await program.parseAsync(['node', 'jit-broker', ...args]);
  return out;
}
