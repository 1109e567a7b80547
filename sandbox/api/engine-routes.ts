/**
 * The engines as the operator sees them (/api/health lists them) and draining:
 *   POST /api/engines/:name/drain  {draining: true|false}  (instructor token)
 * A draining engine gets no new session and no warm one; its sessions go on until they end.
 */
import { z } from "zod";
import { HttpError, readJsonBody, sendJson, type Router } from "../http/router.ts";
import type { SessionManager } from "../sessions/session-manager.ts";
import { requireInstructor } from "../progress/routes.ts";

export interface EngineReport {
  name: string;
  address: string;
  default: boolean;
  /** up: takes sessions; down: does not answer; draining: answers, takes no new session. */
  state: "up" | "down" | "draining";
  answers: boolean;
  draining: boolean;
  since: string;
  version: string | undefined;
  problem: string | undefined;
  /** Learners' sessions on it, and warm ones waiting. */
  sessions: number;
  warm: number;
  /** Container starts now running and waiting at its admission (docker/engine-admission.ts; one for all engines of this host). */
  starts: { running: number; waiting: number; slots: number };
}

export function describeEngines(sessions: SessionManager): EngineReport[] {
  const fleet = sessions.fleet;
  return fleet.engines.map((engine) => {
    const s = fleet.state(engine);
    return {
      name: engine.name,
      address: engine.address.address,
      default: engine === fleet.default,
      state: !s.answers ? "down" : s.draining ? "draining" : "up",
      answers: s.answers,
      draining: s.draining,
      since: new Date(s.since).toISOString(),
      version: s.version,
      problem: s.problem,
      sessions: sessions.ownedOn(engine),
      warm: sessions.pooledOn(engine),
      starts: { ...engine.starts.load, slots: engine.starts.slots },
    };
  });
}

const DrainBody = z.strictObject({ draining: z.boolean().default(true) });

export function registerEngineRoutes(
  router: Router,
  sessions: SessionManager,
  instructorToken: () => string | undefined,
): void {
  router.add("POST", "/api/engines/:name/drain", async (ctx) => {
    requireInstructor(ctx, instructorToken());
    const { draining } = await readJsonBody(ctx.req, DrainBody);
    const engine = sessions.fleet.byName(ctx.params.name!);
    if (!engine)
      throw new HttpError(
        404,
        `no engine named ${ctx.params.name}; the engines are ${sessions.fleet.engines.map((e) => e.name).join(", ")}`,
      );
    sessions.setDraining(engine, draining);
    sendJson(
      ctx.res,
      200,
      describeEngines(sessions).find((e) => e.name === engine.name),
    );
  });
}
