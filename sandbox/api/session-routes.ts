import type { IncomingMessage } from "node:http";
import { statfs } from "node:fs/promises";
import { z } from "zod";
import { HttpError, readJsonBody, sendJson, type Router } from "../http/router.ts";
import { probeEngine } from "../docker/engine.ts";
import { describeEngines } from "./engine-routes.ts";
import { SessionBusyError, type SessionManager } from "../sessions/session-manager.ts";
import type { Session } from "../sessions/session.ts";
import { streamState } from "./state-stream.ts";
import { hasInstructorToken } from "../progress/routes.ts";
import { JoinBody, type classAdmission } from "../classes/class-routes.ts";
import type { Config } from "../config.ts";

/** The client address for rate limits (the socket's; behind a reverse proxy, with trustProxy, the first forwarded one). */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = trustProxy
    ? String(req.headers["x-forwarded-for"] ?? "")
        .split(",")[0]!
        .trim()
    : "";
  return forwarded || req.socket.remoteAddress || "unknown";
}

export function ownedSession(sessions: SessionManager, id: string, learnerId: string): Session {
  const session = sessions.owned(id, learnerId);
  if (!session) throw new HttpError(404, "no such session (it may have ended)");
  return session;
}

/**
 * Whether a health caller may see the details (engine address and version, disk figures, start
 * queue, session count): a process on the server's own machine (monitoring, the operator), or
 * anyone with the instructor token. A student's browser on the class network gets ok or not.
 */
export function mayReadHealthDetails(
  req: IncomingMessage,
  instructorToken: string | undefined,
): boolean {
  const address = req.socket.remoteAddress ?? "";
  return (
    address === "127.0.0.1" ||
    address === "::1" ||
    address === "::ffff:127.0.0.1" ||
    hasInstructorToken(req, instructorToken)
  );
}

export const DISK_FULL =
  "the server's disk is full, so no sandbox can start right now; try again later (your progress is kept)";

/**
 * The free space of the data folder (workspaces, proxy sockets, progress). "Full" is less than 5%
 * free or 256 MiB, whichever is smaller: a new session's home would fill at once.
 */
export async function dataDisk(
  dataDir: string,
): Promise<{ freeBytes: number; totalBytes: number; full: boolean }> {
  const fs = await statfs(dataDir);
  const freeBytes = fs.bavail * fs.bsize;
  const totalBytes = fs.blocks * fs.bsize;
  return {
    freeBytes,
    totalBytes,
    full: freeBytes < Math.min(256 * 1024 * 1024, totalBytes * 0.05),
  };
}

/** "Reset my sandbox": whether the files in the home folder move to the new sandbox (default: they do). */
const ResetRequest = z.strictObject({ keepHome: z.boolean().default(true) });

/** POST/GET/DELETE /api/sessions, the state stream, and /api/health. */
export function registerSessionRoutes(
  router: Router,
  sessions: SessionManager,
  config: Pick<Config, "idleTimeoutSeconds" | "dataDir" | "instructorToken" | "trustProxy">,
  admitToClass?: ReturnType<typeof classAdmission>,
): void {
  router.add("POST", "/api/sessions", async ({ req, res, learnerId }) => {
    // Optional {class, name}: joins a class (404 unknown code, 409 full); its members take its warm sandboxes.
    const classPool = await admitToClass?.(
      learnerId,
      await readJsonBody(req, JoinBody),
      clientAddress(req, config.trustProxy),
    );
    const existing = sessions.forOwner(learnerId);
    if (!existing && (await dataDisk(config.dataDir)).full)
      throw new HttpError(503, DISK_FULL, { retryAfterSeconds: 300 });
    // A class member taking a warm sandbox needs no engine work now: no probe (docker info is slow on a busy engine).
    // With several engines, the fleet's own probes say which answer (docker/engine-fleet.ts).
    const fleet = sessions.fleet;
    const health =
      classPool && classPool.warm > 0
        ? undefined
        : fleet.engines.length === 1
          ? await probeEngine(fleet.default)
          : { answers: fleet.engines.some((e) => fleet.usable(e)) };
    // The engine's address stays in the server's log and /api/health, not in a student's answer.
    if (health && !health.answers)
      throw new HttpError(
        503,
        "the Docker engine is not answering, so no sandbox can start right now; try again in a minute",
        { retryAfterSeconds: 60 },
      );
    try {
      const { session, created } = await sessions.create(
        learnerId,
        clientAddress(req, config.trustProxy),
        classPool,
      );
      session.touch();
      sendJson(res, created ? 201 : 200, {
        ...session.describe(),
        idleTimeoutSeconds: config.idleTimeoutSeconds,
      });
    } catch (error) {
      if (error instanceof SessionBusyError)
        throw new HttpError(error.status, error.message, {
          retryAfterSeconds: error.retryAfterSeconds,
        });
      if ((error as NodeJS.ErrnoException).code === "ENOSPC")
        throw new HttpError(503, DISK_FULL, { retryAfterSeconds: 300 });
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

  router.add("POST", "/api/sessions/:id/reset", async ({ req, res, params, learnerId }) => {
    const { keepHome } = await readJsonBody(req, ResetRequest);
    ownedSession(sessions, params.id!, learnerId);
    try {
      const session = await sessions.replace(params.id!, {
        keepHome,
        reason: keepHome ? "reset by its owner (home kept)" : "reset by its owner",
      });
      session.touch();
      sendJson(res, 201, {
        ...session.describe(),
        idleTimeoutSeconds: config.idleTimeoutSeconds,
        keptHome: keepHome,
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOSPC")
        throw new HttpError(503, DISK_FULL, { retryAfterSeconds: 300 });
      throw new HttpError(
        503,
        `the new sandbox could not start: ${(error as Error).message}; try again (your progress is kept${keepHome ? ", and so are your files" : ""})`,
      );
    }
  });

  router.add("GET", "/api/sessions/:id/state", ({ req, res, params, learnerId }) => {
    const session = ownedSession(sessions, params.id!, learnerId);
    streamState(session, session.engine, req, res);
  });

  router.add("GET", "/api/health", async ({ req, res }) => {
    const engine = sessions.fleet.default;
    const [docker, disk] = await Promise.all([probeEngine(engine), dataDisk(config.dataDir)]);
    // Container starts running and queued across the class (docker/engine-admission.ts).
    const starts = { ...engine.starts.load, slots: engine.starts.slots };
    const engines = describeEngines(sessions);
    // With several engines the server is up while one of them takes sessions; each one's state is listed.
    const engineDown =
      engines.length === 1
        ? !docker.answers && docker.message
        : !engines.some((e) => e.state === "up") &&
          `no engine takes sessions: ${engines.map((e) => `${e.name} ${e.state}`).join(", ")}`;
    // What is wrong, if anything: in full for the operator, and in words that name nothing for anyone else.
    const problem = engineDown
      ? { message: engineDown, publicMessage: "the Docker engine is not answering" }
      : disk.full
        ? {
            message: `the data folder's disk is full (${disk.freeBytes} bytes free)`,
            publicMessage: "the server's disk is full",
          }
        : undefined;
    const status = problem ? 503 : 200;
    if (!mayReadHealthDetails(req, config.instructorToken))
      sendJson(res, status, {
        ok: !problem,
        ...(problem ? { message: problem.publicMessage } : {}),
      });
    else
      sendJson(res, status, {
        ok: !problem,
        ...(problem ? { message: problem.message } : {}),
        docker: docker.answers ? docker : { answers: false },
        disk,
        starts,
        sessions: sessions.count,
        engines,
      });
  });
}
