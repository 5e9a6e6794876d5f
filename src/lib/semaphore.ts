/** Bounds concurrent work toward one provider target (GitHub rate limits, DB connections). */
export class Semaphore {
  #available: number;
  readonly #waiters: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new TypeError('semaphore size must be a positive integer');
    this.#available = size;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#available > 0) this.#available -= 1;
    else await new Promise<void>((resolve) => this.#waiters.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#waiters.shift();
      if (next) next();
      else this.#available += 1;
    }
  }
}
