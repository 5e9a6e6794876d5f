/**
 * A policy set that cannot be used: unknown target, a ceiling the target's provider rejects,
 * a condition that does not compile. A programmer/operator mistake found at load time, never
 * a decision; `path` names the first bad field (`policies[2].when`) and `issues` lists every
 * problem found, each `path: problem`, so `config validate` names them all in one run.
 */
export class PolicyConfigError extends Error {
  override readonly name = 'PolicyConfigError';
  readonly path: string;
  readonly issues: readonly string[];

  constructor(path: string, problem: string, more: readonly string[] = []) {
    super([`${path}: ${problem}`, ...more].join('\n'));
    this.path = path;
    this.issues = [`${path}: ${problem}`, ...more];
  }

  /** One error for every issue found (each `path: problem`); the first names `path`. */
  static of(issues: readonly { path: string; problem: string }[]): PolicyConfigError | undefined {
    const [first, ...rest] = issues;
    if (first === undefined) return undefined;
    return new PolicyConfigError(
      first.path,
      first.problem,
      rest.map((i) => `${i.path}: ${i.problem}`),
    );
  }
}
