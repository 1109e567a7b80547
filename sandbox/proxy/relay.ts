/**
 * Engine answers passed on to the student: JSON read whole and rewritten into the student's
 * names and paths (rewrite.ts), streams piped as they come, JSON-line streams rewritten line by line.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { eachLine } from "../http/lines.ts";
import { sendJson } from "../http/router.ts";
import { readAll } from "./engine-http.ts";
import type { StudentView } from "./rewrite.ts";

/** Passes an engine answer on; JSON answers are rewritten into the student's view. */
export async function relay(
  view: StudentView,
  res: ServerResponse,
  upstream: IncomingMessage,
): Promise<void> {
  const type = upstream.headers["content-type"] ?? "";
  if (type.startsWith("application/json") || (upstream.statusCode ?? 200) >= 400) {
    return relayJson(view, res, upstream);
  }
  return relayStream(view, res, upstream);
}

/** Passes a streaming answer on as it comes (errors are still rewritten). */
export async function relayStream(
  view: StudentView,
  res: ServerResponse,
  upstream: IncomingMessage,
): Promise<void> {
  if ((upstream.statusCode ?? 200) >= 400) return relayJson(view, res, upstream);
  res.writeHead(upstream.statusCode ?? 200, pickHeaders(upstream));
  res.flushHeaders();
  upstream.pipe(res);
  res.on("close", () => upstream.destroy());
}

export async function relayJson(
  view: StudentView,
  res: ServerResponse,
  upstream: IncomingMessage,
  select?: (value: unknown) => unknown,
): Promise<void> {
  return relayJsonText(view, res, upstream, await readAll(upstream, ANSWER_BYTES), select);
}

/** relayJson for an answer already read (inside a quota lock, say). */
export function relayJsonText(
  view: StudentView,
  res: ServerResponse,
  upstream: IncomingMessage,
  body: Buffer,
  select?: (value: unknown) => unknown,
): void {
  const text = body.toString("utf8");
  const status = upstream.statusCode ?? 200;
  if (!text) {
    res.writeHead(status, pickHeaders(upstream));
    res.end();
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = status >= 400 ? { message: text.trim() } : undefined;
    if (value === undefined) {
      res.writeHead(status, pickHeaders(upstream));
      res.end(view.text(text));
      return;
    }
  }
  if (select && status < 300) value = select(value);
  sendJson(
    res,
    status,
    view.json(value),
    pickHeaders(upstream, ["content-type", "content-length"]),
  );
}

/** Streams of JSON lines (stats): each line rewritten. */
export function relayLines(
  view: StudentView,
  res: ServerResponse,
  upstream: IncomingMessage,
): void {
  res.writeHead(upstream.statusCode ?? 200, pickHeaders(upstream, ["content-length"]));
  const rest = eachLine(upstream, (line) => writeOrPause(res, upstream, view.text(line + "\n")));
  upstream.on("end", () => res.end(view.text(rest())));
  res.on("close", () => upstream.destroy());
}

const PASSED_HEADERS = [
  "content-type",
  "content-length",
  "api-version",
  "docker-experimental",
  "ostype",
  "server",
  "x-docker-container-path-stat",
  "cache-control",
  "pragma",
];

function pickHeaders(
  upstream: IncomingMessage,
  drop: string[] = [],
): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const name of PASSED_HEADERS)
    if (!drop.includes(name) && upstream.headers[name] !== undefined)
      out[name] = upstream.headers[name];
  return out;
}

/** An engine answer read whole into the server (lists, inspects) is at most this big. */
export const ANSWER_BYTES = 16 * 1024 * 1024;

/** Writes to the student; while their socket is not draining, stops reading from the engine. */
export function writeOrPause(res: ServerResponse, upstream: IncomingMessage, text: string): void {
  if (!res.write(text) && !upstream.isPaused()) {
    upstream.pause();
    res.once("drain", () => upstream.resume());
  }
}

/** An answer on a hijacked socket, which has left Node's HTTP server. */
export function writeRawResponse(
  socket: Duplex,
  status: number,
  body: string,
  type = "application/json",
): void {
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${status} ${status < 400 ? "OK" : "Error"}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
