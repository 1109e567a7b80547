/**
 * The engine as a whole: ping and version (passed on, the API version capped), `docker info` and
 * `docker system df` (made up from the session's own objects), and `docker events` (cut down to
 * the session's objects, then the student's filters). Nothing here shows another session or the host.
 */
import type { ServerResponse } from "node:http";
import { isCheckReaderEvent } from "../../docker/check-readers.ts";
import { eachLine } from "../../http/lines.ts";
import { sendJson } from "../../http/router.ts";
import { LABEL_OWNER, withoutSessionPrefix } from "../../naming/scope.ts";
import { cappedApiVersion } from "../api-versions.ts";
import { route, type Handler, type Route, type SessionContext } from "../context.ts";
import { engineJson, engineRequest } from "../engine-http.ts";
import type { Json } from "../fields.ts";
import { scopedFilters } from "../filters.ts";
import { relay } from "../relay.ts";
import { noBody } from "../request-body.ts";
import type { ContainerSummary, VolumeSummary } from "../session-objects.ts";
import { SessionImages } from "../own-images.ts";

/**
 * Unread bytes one `docker events` answer may hold in the server: ddc0117 wrote every event to
 * a client that never read, and such clients grew the server from 132 MB to 2.3 GB in 32 s.
 */
export const EVENTS_MAX_UNREAD_BYTES = 256 * 1024;

/** An engine event, as much of it as the filters read. */
export interface EngineEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

const pingOrVersion: Handler = async (s, { req, res, path }) => {
  await noBody(req);
  const upstream = await engineRequest(s.engine, { method: req.method!, path });
  // The CLI settles on this version: never one newer than the policy knows (api-versions.ts).
  upstream.headers["api-version"] = cappedApiVersion(
    upstream.headers["api-version"] as string | undefined,
  );
  return relay(s.view, res, upstream);
};

export const systemRoutes: Route[] = [
  route("HEAD", "/_ping", pingOrVersion),
  route("GET", "/_ping", pingOrVersion),
  route("GET", "/version", pingOrVersion),
  route("GET", "/info", async (s, { req, res }) => {
    await noBody(req);
    return sendJson(res, 200, await info(s));
  }),
  route("GET", "/system/df", async (s, { req, res }) => {
    await noBody(req);
    // The engine walks every session's containers and volumes for it: paced per session.
    await s.diskUsageBudget.take();
    return sendJson(res, 200, await systemDf(s));
  }),
  route(
    "GET",
    "/events",
    async (s, { req, res, query }) => {
      await noBody(req);
      return events(s, query, res);
    },
    ["since", "until", "filters"],
    { stream: true },
  ),
];

/** `docker info`: the engine's facts that tell nothing of other sessions, the counts of this one's containers. */
async function info(s: SessionContext): Promise<Json> {
  const [{ body: info }, containers] = await Promise.all([
    engineJson<Json>(s.engine, { method: "GET", path: "/info" }),
    s.objects.ownedContainers(),
  ]);
  const { body: states } = await engineJson<{ Id: string; State: string }[]>(s.engine, {
    method: "GET",
    path: "/containers/json",
    query: new URLSearchParams({
      all: "1",
      filters: JSON.stringify({ label: [s.scope.ownerFilter()] }),
    }),
  });
  const count = (state: string) => (states ?? []).filter((c) => c.State === state).length;
  const pick = [
    "Driver",
    "MemoryLimit",
    "SwapLimit",
    "CpuCfsPeriod",
    "CpuCfsQuota",
    "KernelVersion",
    "OperatingSystem",
    "OSVersion",
    "OSType",
    "Architecture",
    "NCPU",
    "MemTotal",
    "ServerVersion",
    "SecurityOptions",
    "CgroupDriver",
    "CgroupVersion",
    "Images",
    "DefaultRuntime",
    "LoggingDriver",
  ];
  const out: Json = Object.fromEntries(pick.map((k) => [k, info[k]]));
  return {
    ...out,
    ID: "stowage",
    Name: "stowage",
    Containers: containers.length,
    ContainersRunning: count("running"),
    ContainersPaused: count("paused"),
    ContainersStopped: containers.length - count("running") - count("paused"),
    DockerRootDir: "/var/lib/docker",
    Plugins: { Volume: ["local"], Network: ["bridge", "null"], Log: ["json-file"] },
    Swarm: { LocalNodeState: "inactive" },
    Labels: [],
    Warnings: null,
  };
}

/** `docker system df`: the shared images, and this session's containers and volumes only. */
async function systemDf(s: SessionContext): Promise<Json> {
  const { body } = await engineJson<{
    Containers?: ContainerSummary[];
    Volumes?: VolumeSummary[];
    Images?: unknown[];
    LayersSize?: number;
  }>(s.engine, { method: "GET", path: "/system/df" });
  const containers = (body.Containers ?? []).filter(
    (c) => c.Labels?.[LABEL_OWNER] === s.scope.sessionId,
  );
  // An image's count of containers is the engine's, every session's workstation and containers
  // included: how many students use the machine. Counted again over this session's own.
  const images = new SessionImages(s.engine, s.scope)
    .visible(body.Images ?? []) // no other session's images
    .map((image) => {
      const id = (image as { Id?: string }).Id;
      return {
        ...(image as object),
        Containers: containers.filter((c) => c.ImageID === id).length,
      };
    });
  return s.view.json({
    LayersSize: body.LayersSize ?? 0,
    Images: images,
    Containers: containers,
    Volumes: (body.Volumes ?? []).filter((v) => v.Labels?.[LABEL_OWNER] === s.scope.sessionId),
    BuildCache: [],
  }) as Json;
}

/** Engine events, cut down to this session's objects and rewritten, then the student's filters. */
async function events(
  s: SessionContext,
  query: URLSearchParams,
  res: ServerResponse,
): Promise<void> {
  const studentFilters = JSON.parse(
    scopedFilters(s.objects, "events", query.get("filters"), false),
  ) as Record<string, string[]>;
  query.delete("filters");
  const upstream = await engineRequest(s.engine, { method: "GET", path: "/events", query });
  res.writeHead(upstream.statusCode ?? 200, { "content-type": "application/json" });
  // The CLI waits for the headers before it goes on (`docker stats` with no names subscribes
  // to events, then lists): send them now, not with the first event the session may never have.
  res.flushHeaders();
  const workstation = s.workstationId();
  eachLine(upstream, (line) => {
    try {
      const event = JSON.parse(line) as {
        Type: string;
        Action: string;
        Actor: { ID: string; Attributes?: Record<string, string> };
      };
      if (!ownsEvent(s, event, workstation)) return;
      const shown = s.view.json(event) as typeof event;
      if (!matchesEventFilters(shown, studentFilters)) return;
      res.write(JSON.stringify(shown) + "\n");
    } catch {
      // a line that is not an event is never passed on
    }
    // A client that does not read: the engine's stream is not paused (the engine would stall
    // publishing events for everyone), so the answer is ended once this much waits unread.
    if (res.writableLength > EVENTS_MAX_UNREAD_BYTES) {
      s.log.warn({ unread: res.writableLength }, "events client not reading; stream ended");
      upstream.destroy();
      res.destroy();
    }
  });
  upstream.on("end", () => res.end());
  upstream.on("error", () => res.destroy());
  res.on("close", () => upstream.destroy());
}

/** Whether an engine event is about this session's objects (the workstation's doings are not). */
export function ownsEvent(
  s: Pick<SessionContext, "scope" | "workstationId">,
  event: EngineEvent,
  workstation = s.workstationId(),
): boolean {
  const attributes = event.Actor.Attributes ?? {};
  if (event.Type === "container") return attributes[LABEL_OWNER] === s.scope.sessionId;
  // A check's reader container (created, never started) mounting a volume is not the student's doing.
  // Nor is the home volume of a remote engine's session (home-volume.ts): at home a bind of a
  // home folder makes no volume event.
  if (event.Type === "volume")
    return (
      event.Actor.ID.startsWith(s.scope.prefix) &&
      event.Actor.ID !== s.scope.homeVolumeName &&
      !isCheckReaderEvent(event)
    );
  if (event.Type === "network")
    return (
      (attributes.name ?? "").startsWith(s.scope.prefix) && attributes.container !== workstation
    );
  return false;
}

function matchesEventFilters(
  event: {
    Type: string;
    Action: string;
    Actor: { ID: string; Attributes?: Record<string, string> };
  },
  filters: Record<string, string[]>,
): boolean {
  const a = event.Actor.Attributes ?? {};
  const test = (key: string, values: string[] | undefined, actual: string[]) =>
    !values || values.some((v) => actual.includes(v));
  return (
    test("type", filters.type, [event.Type]) &&
    test("event", filters.event, [event.Action, event.Action.split(":")[0]!]) &&
    (!filters.container ||
      (event.Type === "container" &&
        test("container", filters.container.map(withoutSessionPrefix), [
          event.Actor.ID,
          a.name ?? "",
        ]))) &&
    (!filters.volume ||
      (event.Type === "volume" && test("volume", filters.volume, [event.Actor.ID]))) &&
    (!filters.network ||
      (event.Type === "network" &&
        test("network", filters.network, [event.Actor.ID, a.name ?? ""]))) &&
    (!filters.label ||
      filters.label.every((l) => {
        const [k, v] = l.split("=", 2) as [string, string?];
        return v === undefined ? k in a : a[k] === v;
      }))
  );
}
