import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import {
  HttpError,
  readJsonBody,
  sendJson,
  type Router,
  type RouteContext,
} from "../http/router.ts";
import { requireInstructor } from "../progress/routes.ts";
import type { ProgressStore } from "../progress/store.ts";
import type { SessionManager } from "../sessions/session-manager.ts";
import type { Session } from "../sessions/session.ts";
import type { Engine } from "../docker/engine.ts";
import { streamState } from "../api/state-stream.ts";
import { CLASS_CODE, newClassCode, normalizeClassCode } from "./class-code.ts";
import type { ClassPools } from "./class-pool.ts";
import type { ClassRecord, ClassStore } from "./class-store.ts";
import { classView } from "./dashboard.ts";
import type { WatchSockets } from "./watch-socket.ts";

/** A display name: what the dashboard shows; no control characters. */
const DisplayName = z
  .string()
  .trim()
  .max(40)
  .regex(/^[^\p{C}]*$/u, "must not contain control characters");

export const CreateClassBody = z.object({
  name: z
    .string()
    .trim()
    .min(1)
    .max(80)
    .regex(/^[^\p{C}]*$/u, "must not contain control characters"),
  seats: z.number().int().min(1).max(500),
  startsAt: z.iso
    .datetime({ offset: true })
    .optional()
    .describe(
      "when the class starts (ISO 8601); sandboxes are warmed from a few minutes before; default now",
    ),
  durationMinutes: z
    .number()
    .int()
    .min(10)
    .max(12 * 60)
    .default(180)
    .describe(
      "the class ends this long after it starts: its warm pool is emptied and no one else joins",
    ),
});

/** The optional body of POST /api/sessions: a class code to join, and the name to show the teacher. */
export const JoinBody = z.object({
  class: z.string().max(20).optional(),
  name: DisplayName.optional(),
});

/** Unknown class codes one address may try per minute (typos included) before it must wait. */
export const UNKNOWN_CODES_PER_MINUTE = 10;

/** Dashboard snapshots are sent at most this often; and at least this often for "time since". */
const DASHBOARD_DEBOUNCE_MS = 300;
const DASHBOARD_REFRESH_MS = 10_000;

export interface ClassDeps {
  classes: ClassStore;
  pools: ClassPools;
  progress: ProgressStore;
  sessions: SessionManager;
  engine: Engine;
  watch: WatchSockets;
  instructorToken: () => string | undefined;
  maxSessions: number;
  /** Where the join link points (config STOWAGE_PUBLIC_ORIGIN, STOWAGE_TRUST_PROXY). */
  links: { publicOrigin: string | undefined; trustProxy: boolean };
}

/** The class's join link: on the configured public origin, else where the instructor reached us. */
function joinUrl(req: IncomingMessage, code: string, links: ClassDeps["links"]): string {
  const path = `/join/?code=${code}`;
  if (links.publicOrigin) return new URL(path, links.publicOrigin).toString();
  const proto = links.trustProxy && req.headers["x-forwarded-proto"] === "https" ? "https" : "http";
  return new URL(path, `${proto}://${req.headers.host ?? "localhost"}`).toString();
}

/**
 * Admission of a POST /api/sessions caller into a class: with a code, the seat is taken (404 for
 * an unknown code, 409 when the class is full, 410 when it has ended); without one, a learner who
 * already has a seat in a running class is still its member. Returns the class's pool to take a
 * warm sandbox from (and to be exempt from the per-address limits), or undefined for anonymous use.
 */
export function classAdmission(deps: Pick<ClassDeps, "classes" | "pools">) {
  // Unknown codes per address in the last minute: guessing a code (20^6) at this pace takes years.
  const misses = new Map<string, number[]>();
  const guessing = (client: string): number | undefined => {
    const now = Date.now();
    const recent = (misses.get(client) ?? []).filter((t) => now - t < 60_000);
    misses.set(client, recent);
    if (misses.size > 10_000)
      for (const [key, times] of misses)
        if (times.every((t) => now - t >= 60_000)) misses.delete(key);
    return recent.length >= UNKNOWN_CODES_PER_MINUTE
      ? Math.ceil((recent[0]! + 60_000 - now) / 1000)
      : undefined;
  };
  return async (
    learnerId: string,
    body: z.infer<typeof JoinBody>,
    client: string,
  ): Promise<{ take(): Session | undefined; readonly warm: number } | undefined> => {
    const name = body.name || undefined;
    if (body.class === undefined) {
      const seat = await deps.classes.seatOf(learnerId, new Date());
      return seat ? deps.pools.poolFor(seat.record.code) : undefined;
    }
    const code = normalizeClassCode(body.class);
    const wait = guessing(client);
    if (wait !== undefined)
      throw new HttpError(
        429,
        `too many unknown class codes from your address: check the code on the board and try again in ${wait} s`,
        { retryAfterSeconds: wait },
      );
    const record = CLASS_CODE.test(code) ? await deps.classes.get(code) : undefined;
    if (!record) misses.get(client)!.push(Date.now());
    if (!record)
      throw new HttpError(
        404,
        `there is no class with the code ${code || "(empty)"}: check the code on the board (letters and digits, e.g. AC3-K7X)`,
      );
    if (Date.now() >= Date.parse(record.endsAt))
      throw new HttpError(
        410,
        `the class "${record.name}" (${code}) has ended; ask your teacher for a new code`,
      );
    const joined = await deps.classes.join(code, learnerId, name);
    if ("full" in joined)
      throw new HttpError(
        409,
        `the class "${record.name}" (${code}) is full: all ${record.seats} seats are taken; ask your teacher for more seats`,
      );
    deps.pools.changed(code);
    return deps.pools.poolFor(code);
  };
}

/**
 * The instructor's class API (Bearer STOWAGE_INSTRUCTOR_TOKEN; docs/api.md "Classes"):
 *   POST /api/instructor/classes                                   create
 *   GET  /api/instructor/classes                                   list (running and ended in the last day)
 *   GET  /api/instructor/classes/{code}                            the dashboard's data
 *   POST /api/instructor/classes/{code}/end                        end now (the warm pool is emptied)
 *   GET  /api/instructor/classes/{code}/events                     the same data, live (Server-Sent Events)
 *   POST /api/instructor/classes/{code}/students/{member}/watch    a ticket for the read-only terminal
 *   GET  /api/instructor/classes/{code}/students/{member}/state    the student's state panel, live (SSE)
 */
export function registerClassRoutes(router: Router, deps: ClassDeps): void {
  const { classes, pools, progress, sessions } = deps;
  const authorized = (ctx: RouteContext) => requireInstructor(ctx, deps.instructorToken());
  const classOf = async (code: string): Promise<ClassRecord> => {
    const normalized = normalizeClassCode(code);
    const record = CLASS_CODE.test(normalized) ? await classes.get(normalized) : undefined;
    if (!record) throw new HttpError(404, `there is no class with the code ${normalized}`);
    return record;
  };
  const view = async (record: ClassRecord, req: IncomingMessage) => ({
    ...(await classView(record, classes, progress, sessions, pools.warm(record.code))),
    joinUrl: joinUrl(req, record.code, deps.links),
  });
  const studentSession = async (
    code: string,
    memberId: string,
  ): Promise<{ session: Session; name: string }> => {
    const member = await classes.member((await classOf(code)).code, memberId);
    if (!member) throw new HttpError(404, `no student ${memberId} in class ${code}`);
    const session = sessions.forPublicId(member.publicId);
    if (!session?.terminal)
      throw new HttpError(409, `${member.name} has no sandbox open right now`);
    return { session, name: member.name };
  };

  router.add("POST", "/api/instructor/classes", async (ctx) => {
    authorized(ctx);
    const body = await readJsonBody(ctx.req, CreateClassBody);
    if (body.seats > deps.maxSessions)
      throw new HttpError(
        400,
        `seats: at most ${deps.maxSessions}, this server's STOWAGE_MAX_SESSIONS`,
      );
    const startsAt = body.startsAt ? new Date(body.startsAt) : new Date();
    let code = newClassCode();
    while (await classes.get(code)) code = newClassCode();
    const record: ClassRecord = {
      code,
      name: body.name,
      seats: body.seats,
      startsAt: startsAt.toISOString(),
      endsAt: new Date(startsAt.getTime() + body.durationMinutes * 60_000).toISOString(),
      createdAt: new Date().toISOString(),
    };
    await classes.create(record);
    pools.tick();
    sendJson(ctx.res, 201, await view(record, ctx.req));
  });

  router.add("GET", "/api/instructor/classes", async (ctx) => {
    authorized(ctx);
    const recent = await classes.active(new Date(Date.now() - 24 * 3600_000));
    sendJson(ctx.res, 200, {
      classes: await Promise.all(
        recent.map(async (r) => ({
          ...r,
          joinUrl: joinUrl(ctx.req, r.code, deps.links),
          joined: (await classes.members(r.code)).length,
          warm: pools.warm(r.code),
          ended: Date.now() >= Date.parse(r.endsAt),
        })),
      ),
    });
  });

  router.add("GET", "/api/instructor/classes/:code", async (ctx) => {
    authorized(ctx);
    sendJson(ctx.res, 200, await view(await classOf(ctx.params.code!), ctx.req));
  });

  router.add("POST", "/api/instructor/classes/:code/end", async (ctx) => {
    authorized(ctx);
    const record = await classOf(ctx.params.code!);
    if (Date.now() < Date.parse(record.endsAt)) await classes.end(record.code, new Date());
    pools.tick();
    pools.changed(record.code);
    sendJson(ctx.res, 200, await view((await classes.get(record.code))!, ctx.req));
  });

  router.add("GET", "/api/instructor/classes/:code/events", async (ctx) => {
    authorized(ctx);
    const record = await classOf(ctx.params.code!);
    const learners = async () =>
      new Set((await classes.members(record.code)).map((m) => m.publicId));
    let members = await learners();
    streamDashboard(
      ctx.req,
      ctx.res,
      async () => view((await classes.get(record.code))!, ctx.req),
      (notify) => {
        const offPool = pools.onChange((code) => {
          if (code !== record.code) return;
          void learners().then((now) => {
            members = now;
            notify();
          }, notify);
        });
        const offProgress = progress.onLearnerChange(
          (learnerId) => members.has(learnerId) && notify(),
        );
        return () => {
          offPool();
          offProgress();
        };
      },
    );
  });

  router.add("POST", "/api/instructor/classes/:code/students/:member/watch", async (ctx) => {
    authorized(ctx);
    const { session, name } = await studentSession(ctx.params.code!, ctx.params.member!);
    const ticket = deps.watch.ticket(session.id);
    sendJson(ctx.res, 200, { ticket, url: `/api/watch/${ticket}`, name });
  });

  router.add("GET", "/api/instructor/classes/:code/students/:member/state", async (ctx) => {
    authorized(ctx);
    const { session } = await studentSession(ctx.params.code!, ctx.params.member!);
    streamState(session, session.engine, ctx.req, ctx.res);
  });
}

/** Server-Sent Events: `class` events with the whole view, on connect, on every change (debounced) and every 10 s. */
function streamDashboard(
  req: IncomingMessage,
  res: ServerResponse,
  snapshot: () => Promise<unknown>,
  subscribe: (notify: () => void) => () => void,
): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-store",
    connection: "keep-alive",
  });
  let timer: NodeJS.Timeout | undefined;
  const send = () => {
    timer = undefined;
    // A snapshot that fails (the database is unreachable) is skipped: the next change or refresh tries again.
    void snapshot().then(
      (view) => {
        if (!res.writableEnded) res.write(`event: class\ndata: ${JSON.stringify(view)}\n\n`);
      },
      () => undefined,
    );
  };
  const notify = () => void (timer ??= setTimeout(send, DASHBOARD_DEBOUNCE_MS));
  const unsubscribe = subscribe(notify);
  const refresh = setInterval(send, DASHBOARD_REFRESH_MS);
  req.on("close", () => {
    unsubscribe();
    clearInterval(refresh);
    clearTimeout(timer);
  });
  send();
}
