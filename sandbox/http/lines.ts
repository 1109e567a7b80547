/**
 * The engine's streams of JSON lines (events, stats, build output) arrive in chunks that cut
 * lines anywhere: this calls `onLine` with each whole line (without its newline) as it completes.
 * It returns what is left of an unfinished last line, for the stream's end.
 */
export function eachLine(
  stream: NodeJS.ReadableStream,
  onLine: (line: string) => void,
): () => string {
  let buffered = "";
  stream.setEncoding("utf8"); // a character cut between two chunks is joined before it is decoded
  stream.on("data", (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      onLine(line);
    }
  });
  return () => buffered;
}
