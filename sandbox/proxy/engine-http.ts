import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { rawEngineRequest, type Engine } from "../docker/engine.ts";
import { readBounded } from "../http/body.ts";
import { requestApiVersion } from "./api-versions.ts";

/** One request to the engine, built by the proxy (never the student's bytes). */
export interface EngineRequest {
  method: string;
  path: string; // without the version prefix
  query?: URLSearchParams;
  json?: unknown;
  stream?: NodeJS.ReadableStream;
  headers?: OutgoingHttpHeaders;
}

export function enginePath(engine: Engine, path: string, query?: URLSearchParams): string {
  const qs = query && [...query.keys()].length ? `?${query.toString()}` : "";
  // A student's request goes on in the version their CLI speaks (api-versions.ts).
  return `/v${requestApiVersion() ?? engine.apiVersion}${path}${qs}`;
}

export function engineRequest(engine: Engine, req: EngineRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const body = req.json === undefined ? undefined : Buffer.from(JSON.stringify(req.json));
    const headers: OutgoingHttpHeaders = { host: "docker", ...req.headers };
    if (body) {
      headers["content-type"] = "application/json";
      headers["content-length"] = body.length;
    }
    const outgoing = rawEngineRequest(
      engine,
      {
        method: req.method,
        path: enginePath(engine, req.path, req.query),
        headers,
      },
      resolve,
    );
    outgoing.on("error", (error) =>
      reject(
        Object.assign(new Error(`the Docker engine does not answer (${error.message})`), {
          engineDown: true,
        }),
      ),
    );
    if (req.stream) {
      // A body that fails (a refused archive, say) ends the engine request with its own reason.
      req.stream.on("error", (error) => {
        reject(error);
        outgoing.destroy();
      });
      req.stream.pipe(outgoing);
    } else outgoing.end(body);
  });
}

/** Reads a whole (bounded) engine answer. */
export function readAll(res: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  return readBounded(res, limit, () => new Error("engine answer too large"));
}

/** A JSON call to the engine for the proxy's own lookups. */
export async function engineJson<T>(
  engine: Engine,
  req: EngineRequest,
): Promise<{ status: number; body: T }> {
  const res = await engineRequest(engine, req);
  const text = (await readAll(res)).toString("utf8");
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = { message: text };
  }
  return { status: res.statusCode ?? 500, body: body as T };
}
