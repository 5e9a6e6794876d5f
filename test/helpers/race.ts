/**
 * Whether `promise` settles before a timer of `ms` fires. Tests use it where the code under
 * test would otherwise wait out a delay it sets itself (an ack timeout, a fake's latency), with
 * `ms` well below that delay: the outcome then depends on what the code does, not on how fast
 * the machine is.
 */
export async function settlesBefore(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const fired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      fired,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
