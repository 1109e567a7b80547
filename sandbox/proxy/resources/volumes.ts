/**
 * Volumes: what a student may do to one. Only the local driver, no driver options (they reach
 * mount(2)), at most LIMITS.volumesPerSession; every name is the session's own (scoped by prefix
 * and found by label), so a neighbour's volume is "no such volume". Volumes made by `docker run`
 * (-v NAME:/path, anonymous ones) follow the same quota: container-create.ts, planned-volumes.ts.
 */
import { randomBytes } from "node:crypto";
import { engineIdOffset } from "../../docker/id-offset.ts";
import { LABEL_OWNER } from "../../naming/scope.ts";
import { requireApiVersion } from "../api-versions.ts";
import { ID, route, type Route } from "../context.ts";
import { engineRequest, readAll } from "../engine-http.ts";
import {
  checkName,
  isEmpty,
  onlyKnown,
  optStr,
  strMap,
  studentLabels,
  type Json,
} from "../fields.ts";
import { scopedFilters } from "../filters.ts";
import { forwardOwn } from "../forward-own.ts";
import { tmpfsOptions } from "../mounts.ts";
import { LIMITS } from "../limits.ts";
import { PolicyError, refuse } from "../refusal.ts";
import { relayJson, relayJsonText } from "../relay.ts";
import { jsonBody, noBody } from "../request-body.ts";
import type { SessionObjects, VolumeSummary } from "../session-objects.ts";

/** `docker volume create`: the local driver and no options at all (they reach mount(2)). */
export async function planVolumeCreate(
  objects: SessionObjects,
  body: Json,
  idOffset: number,
): Promise<{ body: Json; studentName: string }> {
  onlyKnown("", body, ["Name", "Driver", "DriverOpts", "Labels", "ClusterVolumeSpec"]);
  const driver = optStr("Driver", body.Driver) ?? "";
  if (driver !== "" && driver !== "local")
    refuse(`the volume driver "${driver}"`, "only the local driver is available here");
  const driverOpts = tmpfsVolumeOptions(body.DriverOpts, idOffset);
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
      DriverOpts: driverOpts,
      Labels: { ...studentLabels("Labels", body.Labels), ...objects.scope.ownedLabels() },
    },
  };
}

/**
 * `--opt` of the local driver: handed to mount(2), so `type=none,o=bind,device=/any/path` would
 * mount any host folder and `type=nfs` reach the network. Only the tmpfs-backed volume of
 * Docker's docs is allowed (`--opt type=tmpfs --opt device=tmpfs --opt o=size=100m,uid=1000`):
 * no host path, its options as bounded as `--tmpfs` (size at most LIMITS.tmpfsBytes, the
 * default when none is given), its memory charged to the session's containers that write it.
 * The engine mounts it on the host, where `uid=1000` is a host uid: under user-namespace
 * remapping the ids are moved by `idOffset` (and root's made explicit), so the folder belongs to
 * who the student named, as at home; studentTmpfsIds moves them back for inspect.
 */
export function tmpfsVolumeOptions(raw: unknown, idOffset: number): Record<string, string> {
  if (isEmpty(raw)) return {};
  const options = strMap("DriverOpts", raw);
  const { type, device, o, ...rest } = options;
  if (type !== "tmpfs" || device !== "tmpfs" || Object.keys(rest).length > 0)
    refuse(
      "volume driver options (--opt) other than a tmpfs volume",
      "the local driver passes them to mount(2), which could mount any host path; --opt type=tmpfs --opt device=tmpfs --opt o=size=64m is allowed",
    );
  const checked = tmpfsOptions("the volume", o ?? "").split(",");
  const id = (key: string) =>
    `${key}=${idOffset + Number(checked.find((x) => x.startsWith(`${key}=`))?.slice(key.length + 1) ?? 0)}`;
  const moved = [
    ...checked.filter((x) => !/^(uid|gid)=/.test(x)),
    ...(idOffset > 0 || checked.some((x) => /^(uid|gid)=/.test(x)) ? [id("uid"), id("gid")] : []),
  ];
  return { type: "tmpfs", device: "tmpfs", o: moved.join(",") };
}

/** A volume as the engine shows it, its tmpfs uid/gid as the student gave them. */
export function studentTmpfsIds<T>(volume: T, idOffset: number): T {
  const v = volume as { Options?: Record<string, string> | null };
  const o = v.Options?.o;
  if (!o || idOffset === 0 || v.Options?.type !== "tmpfs") return volume;
  const back = o
    .split(",")
    .map((x) =>
      x.replace(/^(uid|gid)=(\d+)$/, (_m, k: string, n: string) => `${k}=${Number(n) - idOffset}`),
    )
    .join(",");
  return { ...volume, Options: { ...v.Options, o: back } };
}

export const volumeRoutes: Route[] = [
  route(
    "GET",
    "/volumes",
    async (s, { req, res, path, query }) => {
      await noBody(req);
      const offset = await engineIdOffset(s.engine.docker);
      query.set("filters", scopedFilters(s.objects, "volumes", query.get("filters")));
      return relayJson(
        s.view,
        res,
        await engineRequest(s.engine, { method: "GET", path, query }),
        (answer) => {
          const a = answer as { Volumes?: VolumeSummary[] };
          return {
            ...a,
            Volumes: (a.Volumes ?? [])
              .filter((v) => v.Labels?.[LABEL_OWNER] === s.scope.sessionId)
              .map((v) => studentTmpfsIds(v, offset)),
          };
        },
      );
    },
    ["filters"],
  ),

  route("POST", "/volumes/create", async (s, { req, res, path }) => {
    const body = await jsonBody(req);
    // One create at a time per session: the count read is the count the create lands on.
    const offset = await engineIdOffset(s.engine.docker);
    const { upstream, text } = await s.quotaLock.run(async () => {
      const plan = await planVolumeCreate(s.objects, body, offset);
      const created = await engineRequest(s.engine, { method: "POST", path, json: plan.body });
      return { upstream: created, text: await readAll(created) };
    });
    return relayJsonText(s.view, res, upstream, text, (v) => studentTmpfsIds(v, offset));
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

  route("GET", `/volumes/${ID}`, async (s, request) => {
    const offset = await engineIdOffset(s.engine.docker);
    return forwardOwn("volumes", "", (_s, v) => studentTmpfsIds(v, offset))(s, request);
  }),
  route("DELETE", `/volumes/${ID}`, forwardOwn("volumes"), ["force"]),
];
