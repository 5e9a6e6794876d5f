/** `promise`, or a rejection naming `what` once `ms` have passed without an answer. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
        // A timer must not keep a closing process alive.
        timer.unref();
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `work` or until `deadlineMs` have passed, whichever is first; never rejects on time. */
export async function untilDeadline(
  work: Promise<void>,
  deadlineMs: number | undefined,
): Promise<void> {
  if (deadlineMs === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work,
    new Promise<void>((r) => {
      timer = setTimeout(r, Math.max(0, deadlineMs));
    }),
  ]);
  clearTimeout(timer);
}
