/**
 * A request's or response's body read as UTF-8, no further than `max` bytes. A body that
 * runs past them (chunked, or lying about its length) is cancelled there and the answer is
 * null: nothing past the bound is read or held in memory.
 */
export async function readBounded(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<string | null> {
  if (body === null) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) return null;
      chunks.push(value);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString('utf8');
}
