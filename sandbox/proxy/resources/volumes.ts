/**
 * Volumes: what a student may do to one. Only the local driver, no driver options (they reach
 * mount(2)), at most LIMITS.volumesPerSession; every name is the session's own (scoped by prefix
 * and found by label), so a neighbour's volume is "no such volume". Volumes made by `docker run`
 * (-v NAME:/path, anonymous ones) follow the same quota: container-create.ts, planned-volumes.ts.
 */
import { randomBytes } from "node:crypto";
import { LABEL_OWNER } from "../../naming/scope.ts";
import { requireApiVersion } from "../api-versions.ts";
import { ID, route, type Route } from "../context.ts";
import { engineRequest, readAll } from "../engine-http.ts";
import { checkName, isEmpty, onlyKnown, optStr, studentLabels, type Json } from "../fields.ts";
import { scopedFilters } from "../filters.ts";
import { forwardOwn } from "../forward-own.ts";
import { LIMITS } from "../limits.ts";
import { PolicyError, refuse } from "../refusal.ts";
import { relayJson, relayJsonText } from "../relay.ts";
import { jsonBody, noBody } from "../request-body.ts";
import type { SessionObjects, VolumeSummary } from "../session-objects.ts";

/** `docker volume create`: the local driver and no options at all (they reach mount(2)). */
export async function planVolumeCreate(
  objects: SessionObjects,
  body: Json,
): Promise<{ body: Json; studentName: string }> {
  onlyKnown("", body, ["Name", "Driver", "DriverOpts", "Labels", "ClusterVolumeSpec"]);
  const driver = optStr("Driver", body.Driver) ?? "";
  if (driver !== "" && driver !== "local")
    refuse(`the volume driver "${driver}"`, "only the local driver is available here");
  if (!isEmpty(body.DriverOpts))
    refuse(
      "volume driver options (--opt)",
      "the local driver passes them to mount(2), which could mount any host path",
    );
  if (!isEmpty(body.ClusterVolumeSpec)) refuse("cluster volumes");
  const counts = await objects.counts();
  if (counts.volumes >= LIMITS.volumesPerSession)
    throw new PolicyError(
      `this sandbox holds at most ${LIMITS.volumesPerSession} volumes; remove some with docker volume rm`,
      409,
    );
  const asked = optStr("Name", body.Name);
  const studentName = asked ? checkName("volume", asked) : randomBytes(32).toString("hex");
  return {
    studentName,
    body: {
      Name: objects.scope.engineName(studentName),
      Driver: "local",
      DriverOpts: {},
      Labels: { ...studentLabels("Labels", body.Labels), ...objects.scope.ownedLabels() },
    },
  };
}

export const volumeRoutes: Route[] = [
  route(
    "GET",
    "/volumes",
    async (s, { req, res, path, query }) => {
      await noBody(req);
      query.set("filters", scopedFilters(s.objects, "volumes", query.get("filters")));
      return relayJson(
        s.view,
        res,
        await engineRequest(s.engine, { method: "GET", path, query }),
        (answer) => {
          const a = answer as { Volumes?: VolumeSummary[] };
          return {
            ...a,
            Volumes: (a.Volumes ?? []).filter((v) => v.Labels?.[LABEL_OWNER] === s.scope.sessionId),
          };
        },
      );
    },
    ["filters"],
  ),

  route("POST", "/volumes/create", async (s, { req, res, path }) => {
    const body = await jsonBody(req);
    // One create at a time per session: the count read is the count the create lands on.
    const { upstream, text } = await s.quotaLock.run(async () => {
      const plan = await planVolumeCreate(s.objects, body);
      const created = await engineRequest(s.engine, { method: "POST", path, json: plan.body });
      return { upstream: created, text: await readAll(created) };
    });
    return relayJsonText(s.view, res, upstream, text);
  }),

  route(
    "POST",
    "/volumes/prune",
    async (s, { req, res, path, query }) => {
      await noBody(req);
      query.set("filters", scopedFilters(s.objects, "volumePrune", query.get("filters")));
      // `all` is API 1.42's: Engine 20.10 does not know it, and older versions prune named volumes anyway.
      if ("all" in (JSON.parse(query.get("filters")!) as Json))
        requireApiVersion("the volume prune filter all (--all)", "1.42");
      return relayJson(s.view, res, await engineRequest(s.engine, { method: "POST", path, query }));
    },
    ["filters"],
  ),

  route("GET", `/volumes/${ID}`, forwardOwn("volumes")),
  route("DELETE", `/volumes/${ID}`, forwardOwn("volumes"), ["force"]),
];
