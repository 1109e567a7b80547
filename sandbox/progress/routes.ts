import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { z } from "zod";
import {
  HttpError,
  readJsonBody,
  sendJson,
  type Router,
  type RouteContext,
} from "../http/router.ts";
import type { ProgressStore } from "./store.ts";

const ID = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "expected a lowercase id like 02-named-volumes")
  .max(100);

export const quizBody = z.object({
  lesson: ID,
  quiz: z.string().regex(/^[a-z0-9-]{1,40}$/, "expected a quiz id"),
  answer: z.number().int().min(0).max(20),
  correct: z.boolean(),
});
export const visitBody = z.object({ lesson: ID });

/** Whether the request carries the instructor token (`Authorization: Bearer …`); never with no token set. */
export function hasInstructorToken(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return false;
  const given = Buffer.from(
    /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1]?.trim() ?? "",
  );
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** Checks `Authorization: Bearer <STOWAGE_INSTRUCTOR_TOKEN>`: 404 when no token is configured, 401 when wrong. */
export function requireInstructor(ctx: RouteContext, token: string | undefined): void {
  if (!token) throw new HttpError(404, "not found");
  if (!hasInstructorToken(ctx.req, token)) {
    ctx.res.setHeader("www-authenticate", 'Bearer realm="stowage-instructor"');
    throw new HttpError(401, "an instructor token is required (Authorization: Bearer ...)");
  }
}

/**
 * Progress API for the caller (learner cookie) and the instructor view.
 *   GET  /api/progress                 -> the caller's progress
 *   POST /api/progress/tasks           410: passed tasks are recorded by the checks route only
 *   POST /api/progress/quizzes         {lesson, quiz, answer, correct}
 *   POST /api/progress/visits          {lesson}
 *   GET  /api/instructor/progress      (Bearer STOWAGE_INSTRUCTOR_TOKEN) -> every learner
 */
export function registerProgressRoutes(
  router: Router,
  store: ProgressStore,
  options: { instructorToken: () => string | undefined },
): void {
  const token = options.instructorToken;
  router.add("GET", "/api/progress", async ({ res, learnerId }) => {
    sendJson(res, 200, await store.get(learnerId));
  });
  // A browser cannot mark a task done: the checks route (POST /api/sessions/{id}/checks) records
  // the tasks whose checks really passed, with store.recordTasks.
  router.add("POST", "/api/progress/tasks", () => {
    throw new HttpError(
      410,
      "tasks are recorded by the server when their checks pass (POST /api/sessions/{id}/checks)",
    );
  });
  router.add("POST", "/api/progress/quizzes", async ({ req, res, learnerId }) => {
    const body = await readJsonBody(req, quizBody);
    await store.recordQuiz(learnerId, body);
    sendJson(res, 200, { ok: true });
  });
  router.add("POST", "/api/progress/visits", async ({ req, res, learnerId }) => {
    const body = await readJsonBody(req, visitBody);
    await store.recordVisit(learnerId, body.lesson);
    sendJson(res, 200, { ok: true });
  });
  router.add("GET", "/api/instructor/progress", async (ctx) => {
    requireInstructor(ctx, token());
    sendJson(ctx.res, 200, { learners: await store.listAll() });
  });
}
