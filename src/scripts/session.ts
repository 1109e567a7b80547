import { progressOnce } from "./learner.ts";

/** The learner's sandbox session: one per learner; POST /api/sessions returns the live one if any. */

export class ApiError extends Error {
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, message: string, retryAfterSeconds?: number) {
    super(message);
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  await progressOnce(); // the learner cookie exists before any other call
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    /* not JSON: e.g. the static server's 404 page */
  }
  if (!res.ok) {
    const retry =
      typeof json.retryAfterSeconds === "number"
        ? json.retryAfterSeconds
        : Number(res.headers.get("retry-after")) || undefined;
    const message =
      typeof json.error === "string"
        ? json.error
        : res.status === 404
          ? "the course server is not running here"
          : `HTTP ${res.status}`;
    throw new ApiError(res.status, message, retry);
  }
  return json as T;
}

let current: Promise<string> | undefined;
let lastId: string | undefined;

/** The id of the learner's live session, creating it when needed. */
export function ensureSession(): Promise<string> {
  current ??= api<{ id: string }>("POST", "/api/sessions").then(
    (s) => {
      if (lastId !== undefined && lastId !== s.id)
        document.dispatchEvent(new CustomEvent("stowage:session", { detail: s.id }));
      lastId = s.id;
      return s.id;
    },
    (error: unknown) => {
      current = undefined;
      throw error;
    },
  );
  return current;
}

/** Forget the cached id (the session ended or a connection failed): the next call asks the server again. */
export function forgetSession(): void {
  current = undefined;
}

export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.retryAfterSeconds)
      return `${error.message} (retrying in ${error.retryAfterSeconds} s)`;
    return error.message;
  }
  return "the course server cannot be reached";
}
