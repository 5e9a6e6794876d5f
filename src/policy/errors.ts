/**
 * A policy set that cannot be used: unknown target, a ceiling the target's provider rejects,
 * a condition that does not compile. A programmer/operator mistake found at load time, never
 * a decision; `path` names the field (`policies[2].when`) so `config validate` can point at it.
 */
export class PolicyConfigError extends Error {
  override readonly name = 'PolicyConfigError';
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.path = path;
  }
}
