import type { JitBrokerClient } from '../../src/client/index.js';
import { exchangeForDownstream, type McpCaller } from '../../src/mcp/index.js';

export interface TaskCredentialsOptions {
  broker: JitBrokerClient;
  brokerUrl: string;
  serverToken: () => string | Promise<string>;
  target: string;
  caller: McpCaller;
  task: { id: string; intent: string; tool: string };
}

/**
 * The GitHub tokens of one task: one per repository, asked for on first use through an
 * RFC 8693 exchange with the caller as `actor_token`, reused for the rest of the task, and
 * revoked together when the task ends.
 */
export class TaskCredentials {
  readonly #tokens = new Map<string, Promise<string>>();
  #ended = false;

  constructor(private readonly options: TaskCredentialsOptions) {}

  get taskId(): string {
    return this.options.task.id;
  }

  /** A token for exactly `repository` with `contents: read`. */
  forRepository(repository: string): Promise<string> {
    if (this.#ended) return Promise.reject(new Error('the task has ended'));
    let token = this.#tokens.get(repository);
    if (token === undefined) {
      token = exchangeForDownstream({
        brokerUrl: this.options.brokerUrl,
        subjectToken: this.options.serverToken,
        caller: this.options.caller,
        target: this.options.target,
        scope: `repositories=${repository} permissions.contents=read`,
        task: this.options.task,
      }).then((issued) => {
        // The broker answers an installation token as an RFC 8693 access token.
        if (issued.accessToken === undefined) throw new Error('no access token in the answer');
        return issued.accessToken;
      });
      // A refusal is not kept: the next call in the task asks again.
      token.catch(() => this.#tokens.delete(repository));
      this.#tokens.set(repository, token);
    }
    return token;
  }

  /** Revokes every lease of the task at the broker (also one whose answer was lost). */
  async end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#tokens.size === 0) return;
    await this.options.broker.endTask(this.options.task.id);
  }
}
