/** Where CLI commands read their settings and write their output (tests pass their own). */
export interface OperatorIo {
  env: NodeJS.ProcessEnv;
  fetch: typeof fetch;
  out: (line: string) => void;
  /** Warnings and progress for the operator (stderr); default process.stderr. */
  warn?: (line: string) => void;
  /** A file's text, or standard input for `-`. */
  read: (path: string) => Promise<string>;
}

/** A command's failure: the message for the operator and the process's exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}
