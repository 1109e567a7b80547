import { z } from "zod";
import { HttpError, readJsonBody, sendJson, type Router } from "../http/router.ts";
import type { SessionManager } from "../sessions/session-manager.ts";
import { engineLostMessage } from "../sessions/session.ts";
import type { Engine } from "../docker/engine.ts";
import { ownedSession } from "./session-routes.ts";
import type { ProgressStore } from "../progress/store.ts";
import { runExerciseChecks } from "../checks/shell-checks.ts";

const CheckRequest = z.object({
  lesson: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/)
    .describe("the lesson folder, e.g. 02-named-volumes"),
  exercise: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/)
    .describe("the exercise id from the lesson's frontmatter"),
});

/** POST /api/sessions/{id}/checks: runs an exercise's checks in the caller's own session. */
export function registerCheckRoutes(
  router: Router,
  sessions: SessionManager,
  engine: Engine,
  lessonsDir: string,
  progress?: Pick<ProgressStore, "recordTasks" | "recordAttempts">,
): void {
  router.add("POST", "/api/sessions/:id/checks", async ({ req, res, params, learnerId }) => {
    const session = ownedSession(sessions, params.id!, learnerId);
    const { lesson, exercise } = await readJsonBody(req, CheckRequest);
    // Checks read the engine's state: on an engine that stopped answering they would only wait.
    if (session.engineLost) throw new HttpError(503, engineLostMessage(session.engine));
    session.touch();
    const run = await session.checkRuns.run(() =>
      session.whileChecking(() =>
        runExerciseChecks(session.engine.docker, session, lessonsDir, lesson, exercise),
      ),
    );
    if (!run)
      throw new HttpError(
        429,
        `checks are already running for this sandbox (${session.checkRuns.concurrent} at once, ${session.checkRuns.queued} waiting): try again when they are done`,
        { retryAfterSeconds: 2 },
      );
    const tasks = run.value;
    if (!tasks) throw new HttpError(404, `no exercise ${exercise} in lesson ${lesson}`);
    // Progress is recorded here, from a real check, never from what a browser claims.
    // Attempts first: the run that passes a task is counted as one of its attempts.
    await progress?.recordAttempts(learnerId, lesson, exercise, tasks);
    await progress?.recordTasks(
      learnerId,
      lesson,
      exercise,
      tasks.filter((t) => t.passed).map((t) => t.id),
    );
    sendJson(res, 200, { tasks });
  });
}
