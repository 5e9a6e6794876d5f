/**
 * Reads a request's or response's body no further than `max` bytes: at the chunk that runs
 * past them the stream is cancelled, so a body that runs on (chunked, or lying about its
 * length) is never held in memory. `over` says whether it ran past.
 */
async function readUpTo(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<{ bytes: Buffer; over: boolean }> {
  if (body === null) return { bytes: Buffer.alloc(0), over: false };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let over = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size > max) {
        over = true;
        break;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return { bytes: Buffer.concat(chunks), over };
}

/** The body as UTF-8 when it is at most `max` bytes; null when it runs past them. */
export async function readBounded(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<string | null> {
  const { bytes, over } = await readUpTo(body, max);
  return over ? null : bytes.toString('utf8');
}

/** The first `max` bytes of the body as UTF-8, however long it runs (an answer to quote). */
export async function readPrefix(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<string> {
  const { bytes } = await readUpTo(body, max);
  return bytes.subarray(0, max).toString('utf8');
}
