import type { IncomingMessage } from "node:http";
import { HttpError, sendJson, type Router } from "../http/router.ts";
import { probeEngine, type Engine } from "../docker/engine.ts";
import { SessionBusyError, type Session, type SessionManager } from "../sessions/session-manager.ts";
import { streamState } from "./state-stream.ts";

/** The client address for rate limits (the socket's; a proxy in front should set STOWAGE_TRUST_PROXY). */
export function clientAddress(req: IncomingMessage): string {
  const forwarded = process.env.STOWAGE_TRUST_PROXY ? String(req.headers["x-forwarded-for"] ?? "").split(",")[0]!.trim() : "";
  return forwarded || req.socket.remoteAddress || "unknown";
}

export function ownedSession(sessions: SessionManager, id: string, learnerId: string): Session {
  const session = sessions.owned(id, learnerId);
  if (!session) throw new HttpError(404, "no such session (it may have ended)");
  return session;
}

/** POST/GET/DELETE /api/sessions, the state stream, and /api/health. */
export function registerSessionRoutes(router: Router, sessions: SessionManager, engine: Engine, config: { idleTimeoutSeconds: number }): void {
  router.add("POST", "/api/sessions", async ({ req, res, learnerId }) => {
    const health = await probeEngine(engine);
    // The engine's address stays in the server's log and /api/health, not in a student's answer.
    if (!health.answers) throw new HttpError(503, "the Docker engine is not answering, so no sandbox can start right now; try again in a minute", { retryAfterSeconds: 60 });
    try {
      const { session, created } = await sessions.create(learnerId, clientAddress(req));
      session.touch();
      sendJson(res, created ? 201 : 200, { ...session.describe(), idleTimeoutSeconds: config.idleTimeoutSeconds });
    } catch (error) {
      if (error instanceof SessionBusyError) throw new HttpError(error.status, error.message, { retryAfterSeconds: error.retryAfterSeconds });
      throw new HttpError(503, `the sandbox could not start: ${(error as Error).message}`);
    }
  });

  router.add("GET", "/api/sessions/:id", ({ res, params, learnerId }) => {
    const session = ownedSession(sessions, params.id!, learnerId);
    session.touch();
    sendJson(res, 200, session.describe());
  });

  router.add("DELETE", "/api/sessions/:id", async ({ res, params, learnerId }) => {
    ownedSession(sessions, params.id!, learnerId);
    await sessions.destroy(params.id!, "deleted by its owner");
    res.writeHead(204).end();
  });

  router.add("GET", "/api/sessions/:id/state", ({ req, res, params, learnerId }) => {
    streamState(ownedSession(sessions, params.id!, learnerId), engine, req, res);
  });

  router.add("GET", "/api/health", async ({ res }) => {
    const docker = await probeEngine(engine);
    if (docker.answers) sendJson(res, 200, { ok: true, docker, sessions: sessions.count });
    else sendJson(res, 503, { ok: false, message: docker.message, docker: { answers: false }, sessions: sessions.count });
  });
}
