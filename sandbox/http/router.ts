import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { learnerIdOf } from "./learner.ts";
import { readBounded } from "./body.ts";

/** What a route handler gets: the request, the caller's learner id and the path parameters. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  url: URL;
  learnerId: string;
}

export type RouteHandler = (ctx: RouteContext) => Promise<void> | void;

/** An answer a handler throws to end the request with a status and a message. */
export class HttpError extends Error {
  readonly status: number;
  readonly extra: Record<string, unknown>;
  constructor(status: number, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.extra = extra;
  }
}

const MAX_JSON_BODY = 64 * 1024;

/**
 * A JSON answer, for the API and the Docker proxy alike: content-type exactly `application/json`
 * (the docker CLI shows an error's message only then; JSON is UTF-8 by definition), its length,
 * and no caching unless `headers` say otherwise (undefined ones are left out).
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[] | undefined> = {},
): void {
  const text = JSON.stringify(body);
  const given = Object.fromEntries(
    Object.entries(headers).filter(([, value]) => value !== undefined),
  ) as Record<string, string | string[]>;
  res.writeHead(status, {
    "cache-control": "no-store",
    ...given,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** Reads a JSON body (bounded, application/json only) and validates it with a zod schema. */
export async function readJsonBody<T extends z.ZodType>(
  req: IncomingMessage,
  schema: T,
): Promise<z.infer<T>> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  const text = (
    await readBounded(
      req,
      MAX_JSON_BODY,
      (limit) => new HttpError(413, `request body larger than ${limit} bytes`),
    )
  ).toString("utf8");
  let value: unknown = {};
  if (text.length > 0) {
    if (type !== "application/json") throw new HttpError(415, "send the body as application/json");
    try {
      value = JSON.parse(text);
    } catch {
      throw new HttpError(400, "the body is not valid JSON");
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length ? issue.path.join(".") : "body";
    throw new HttpError(400, `${field}: ${issue.message}`);
  }
  return parsed.data;
}

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: RouteHandler;
}

/** A small method + path router for /api. Patterns look like "/api/sessions/:id". */
export class Router {
  private readonly routes: Route[] = [];
  /** Learner cookies are issued `Secure` (the site's public origin is https). */
  private readonly secureCookies: boolean;

  constructor(options: { secureCookies?: boolean } = {}) {
    this.secureCookies = options.secureCookies ?? false;
  }

  add(method: string, path: string, handler: RouteHandler): this {
    const keys: string[] = [];
    const source = path.replace(/:([a-zA-Z]+)/g, (_m, key: string) => {
      keys.push(key);
      return "([^/]+)";
    });
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), keys, handler });
    return this;
  }

  /** Handles the request if a route matches its path; returns false when none does. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const matching = this.routes.filter((r) => r.pattern.test(url.pathname));
    if (matching.length === 0) return false;
    const route = matching.find((r) => r.method === req.method);
    try {
      if (!route) throw new HttpError(405, `${req.method} is not allowed on ${url.pathname}`);
      const match = route.pattern.exec(url.pathname)!;
      const params: Record<string, string> = {};
      for (const [i, key] of route.keys.entries()) {
        try {
          params[key] = decodeURIComponent(match[i + 1]!);
        } catch {
          throw new HttpError(400, `invalid escape in the path: ${match[i + 1]}`);
        }
      }
      const learnerId = learnerIdOf(req, res, this.secureCookies);
      await route.handler({ req, res, params, url, learnerId });
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
      } else if (error instanceof HttpError) {
        const headers: Record<string, string> = {};
        if (typeof error.extra.retryAfterSeconds === "number")
          headers["retry-after"] = String(error.extra.retryAfterSeconds);
        sendJson(res, error.status, { error: error.message, ...error.extra }, headers);
      } else {
        throw error;
      }
    }
    return true;
  }
}
