/**
 * Reads a whole stream (a request or an engine answer) into memory, refusing past `limit` bytes
 * with the caller's error, so nothing can make the server buffer without bound.
 */
export async function readBounded(
  stream: AsyncIterable<Buffer>,
  limit: number,
  tooLarge: (limit: number) => Error,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
