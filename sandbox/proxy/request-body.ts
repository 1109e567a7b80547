/** Request bodies: read whole within a bound, passed on within a bound, or read off a hijacked socket. */
import type { IncomingMessage } from "node:http";
import { Transform, type Duplex } from "node:stream";
import type { Json } from "./fields.ts";
import { LIMITS } from "./limits.ts";
import { PolicyError } from "./refusal.ts";
import { parseStrictJson } from "./strict-json.ts";

/** A request that carries no body: anything sent is refused. */
export async function noBody(req: IncomingMessage): Promise<void> {
  const body = await readBody(req, 1024, `${req.method} ${req.url} takes no request body`);
  if (body.length > 0) throw new PolicyError(`${req.method} ${req.url} takes no request body`, 400);
}

/** A JSON object body (strict: no duplicate keys), at most LIMITS.jsonBodyBytes. */
export async function jsonBody(req: IncomingMessage): Promise<Json> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  const body = await readBody(req, LIMITS.jsonBodyBytes);
  if (body.length === 0) return {};
  if (type !== "application/json")
    throw new PolicyError(
      `send the request body as application/json, not ${type || "no content type"}`,
      415,
    );
  const value = parseStrictJson(body.toString("utf8"));
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new PolicyError("the request body must be a JSON object", 400);
  return value as Json;
}

/**
 * Reads a request body of at most `limit` bytes. Past it, the rest is left for the server to
 * discard rather than the connection destroyed, so the refusal reaches the student's CLI.
 */
function readBody(
  req: IncomingMessage,
  limit: number,
  tooLarge = `the request body is larger than ${limit / 1024} KiB: this sandbox keeps what an object carries small (labels, environment, command)`,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off("data", onData);
      req.off("end", onEnd);
      reject(new PolicyError(tooLarge, 413));
      // The rest is read and dropped (up to a bound), so the client gets the refusal, not a reset.
      let dropped = 0;
      req.on("data", (rest: Buffer) => {
        dropped += rest.length;
        if (dropped > DISCARD_BYTES) req.socket.destroy();
      });
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", reject);
  });
}

/**
 * Passes a request body on, failing with `message` past `limit` bytes. The student's request is
 * left unread rather than destroyed, so the refusal still reaches their CLI.
 */
export function limitStream(
  req: IncomingMessage,
  limit: number,
  message = `the request body is larger than ${limit} bytes`,
): NodeJS.ReadableStream {
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > limit) return callback(new PolicyError(message, 413));
      callback(null, chunk);
    },
  });
  return req.pipe(counter);
}

/** Past a body's limit, this much more is read and dropped before the connection is cut. */
const DISCARD_BYTES = 16 * 1024 * 1024;

/** Reads the JSON body of an upgrade request (Content-Length bytes from head + socket). */
export async function readUpgradeBody(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<{ json: Json; rest: Buffer }> {
  if (req.headers["transfer-encoding"])
    throw new PolicyError("send exec start with a Content-Length body", 400);
  const length = Number(req.headers["content-length"] ?? 0);
  if (!Number.isInteger(length) || length < 0 || length > 4096)
    throw new PolicyError("exec start body must be at most 4096 bytes", 400);
  let buffer = head;
  while (buffer.length < length) {
    const chunk = await new Promise<Buffer>((resolve, reject) => {
      socket.once("data", resolve);
      socket.once("error", reject);
      socket.once("end", () => reject(new PolicyError("connection closed before the body", 400)));
    });
    buffer = Buffer.concat([buffer, chunk]);
  }
  socket.pause();
  const text = buffer.subarray(0, length).toString("utf8");
  const value = text ? parseStrictJson(text) : {};
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new PolicyError("the request body must be a JSON object", 400);
  return { json: value as Json, rest: buffer.subarray(length) };
}
