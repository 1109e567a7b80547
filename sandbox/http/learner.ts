import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/** The anonymous learner id: who owns sessions and progress. No sign-up, one cookie. */
export const LEARNER_COOKIE = "stowage_learner";
const LEARNER_ID = /^[a-f0-9]{32}$/;

export function readLearnerId(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie ?? "";
  for (const part of header.split(";")) {
    const [name, value] = part.trim().split("=");
    if (name === LEARNER_COOKIE && value && LEARNER_ID.test(value)) return value;
  }
  return undefined;
}

/**
 * Returns the caller's learner id, issuing a new cookie when it has none (or a malformed one).
 * `secure`: the site is served over https (its public origin is), so the cookie, the key to the
 * learner's sandbox, is never sent over plain http.
 */
export function learnerIdOf(req: IncomingMessage, res: ServerResponse, secure = false): string {
  const existing = readLearnerId(req);
  if (existing) return existing;
  const id = randomBytes(16).toString("hex");
  res.setHeader(
    "set-cookie",
    `${LEARNER_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000${secure ? "; Secure" : ""}`,
  );
  return id;
}
