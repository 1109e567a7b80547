/**
 * Containers: what a student may do to one, and how each request is carried out. The rules of
 * `docker run` / `create` / `update` bodies are in container-create.ts; `docker exec` in exec.ts.
 *
 * - list, inspect, logs, stats, top, export...: only the session's own containers, found by label;
 * - start and restart re-check published ports and bind folders, and queue across the class;
 * - `docker cp` into a container is filtered entry by entry and bounded by the disk quota;
 * - `rm -v` removes the anonymous volumes the sandbox made for the container.
 */
import type { IncomingMessage } from "node:http";
import { realpath } from "node:fs/promises";
import {
  LABEL_ANON_VOLUMES,
  LABEL_AUTOREMOVE,
  LABEL_OWNER,
  LABEL_PORTS,
} from "../../naming/scope.ts";
import { parsePorts } from "../../naming/published-ports.ts";
import { filterArchive } from "../archive-filter.ts";
import { BOUNDS } from "../bounds.ts";
import {
  ID,
  refused,
  route,
  type Handler,
  type Route,
  type RouteRequest,
  type SessionContext,
} from "../context.ts";
import { engineJson, engineRequest, readAll } from "../engine-http.ts";
import { checkName, type Json } from "../fields.ts";
import { scopedFilters } from "../filters.ts";
import { forwardOwn } from "../forward-own.ts";
import { withoutCgroupParent } from "../internal-names.ts";
import { LIMITS } from "../limits.ts";
import { PlannedVolumes } from "../planned-volumes.ts";
import { PolicyError } from "../refusal.ts";
import { relay, relayJson, relayJsonText, relayLines, relayStream } from "../relay.ts";
import { jsonBody, limitStream, noBody } from "../request-body.ts";
import type { ContainerSummary } from "../session-objects.ts";
import { planContainerCreate, planContainerUpdate } from "./container-create.ts";
import { showHomeBinds } from "../home-volume.ts";

/** start, stop, logs...: the last part of the path is the engine's action. */
function containerAction(streaming: boolean): Handler {
  return async (s, { req, res, path, params, query }) => {
    await noBody(req);
    const id = await s.objects.containerId(params[0]!);
    const action = path.split("/").pop()!;
    let upstream: IncomingMessage;
    if (action === "start" || action === "restart") {
      await removedIfRefused(s, id, async () => {
        await checkPortsFree(s, id);
        // The engine resolves bind folders again when it starts the container. Through the bind
        // view a swapped-in link cannot resolve anyway; checking first gives the student a clear message.
        await recheckBinds(s, await bindSources(s, id));
      });
      if (action === "restart") {
        // A restart is a stop, then a start. The stop may wait out its grace period (10 s by
        // default) and must not hold a start slot meanwhile, so it goes first, outside the queue.
        const stopped = await engineRequest(s.engine, {
          method: "POST",
          path: `/containers/${id}/stop`,
          query,
        });
        if ((stopped.statusCode ?? 500) >= 400) return relay(s.view, res, stopped);
        await readAll(stopped);
      }
      // Starts queue across the class (docker/engine-admission.ts): the engine's start work
      // runs outside every session's cgroup, and unbounded it slows every terminal.
      upstream = await s.engine.starts.run(
        s.scope.sessionId,
        async () => {
          if (s.closing())
            throw new PolicyError("this session is ending; the container was not started", 503);
          // The engine answers a start once the container runs, so the slot covers the work.
          return engineRequest(s.engine, { method: "POST", path: `/containers/${id}/start` });
        },
        s.onStartQueued,
      );
    } else {
      upstream = await engineRequest(s.engine, {
        method: req.method!,
        path: `/containers/${id}/${action}`,
        query,
      });
    }
    if ((action === "start" || action === "restart") && (upstream.statusCode ?? 500) < 300)
      await s.onContainerStarted(id).catch(() => undefined);
    if (action === "stats") return relayLines(s.view, res, upstream);
    // wait sends its headers at once and its body at exit (the CLI starts the container only
    // after the headers); logs and export are the student's own bytes: pass them as they come.
    return streaming ? relayStream(s.view, res, upstream) : relay(s.view, res, upstream);
  };
}
const op = containerAction(false);
const stream = containerAction(true);

export const containerRoutes: Route[] = [
  route(
    "GET",
    "/containers/json",
    async (s, { req, res, path, query }) => {
      await noBody(req);
      query.set(
        "filters",
        await ownPositionFilters(s, scopedFilters(s.objects, "containers", query.get("filters"))),
      );
      return relayJson(
        s.view,
        res,
        await engineRequest(s.engine, { method: "GET", path, query }),
        (list) =>
          (list as (ContainerSummary & { State?: string; Ports?: unknown[] })[])
            .filter((c) => c.Labels?.[LABEL_OWNER] === s.scope.sessionId)
            .map((c) => showHomeBinds(s.scope, c) as typeof c)
            .map((c) =>
              c.State === "running"
                ? {
                    ...c,
                    Ports: [
                      ...(c.Ports ?? []),
                      ...parsePorts(c.Labels[LABEL_PORTS]).map((p) => ({
                        IP: "0.0.0.0",
                        PrivatePort: p.containerPort,
                        PublicPort: p.hostPort,
                        Type: "tcp",
                      })),
                    ],
                  }
                : c,
            ),
      );
    },
    ["all", "limit", "size", "filters"],
  ),

  route(
    "POST",
    "/containers/create",
    async (s, { req, res, path, query }) => {
      const body = await jsonBody(req);
      // One create at a time per session: the counts read are the counts the create lands on.
      const { upstream, text } = await s.quotaLock.run(async () => {
        // Volumes the request needs are only made once the whole request passed the policy
        // and the volume quota (planned-volumes.ts): a refused create leaves nothing behind.
        const volumes = new PlannedVolumes(s.scope, s.engine, s.view);
        // Bind folders are checked here and named to the engine through the session's bind view,
        // where no link is followed: a link swapped in after the check fails the engine's lookup.
        const plan = await planContainerCreate(volumes.objects(s.objects), body, query.get("name"));
        await volumes.commit(LIMITS.volumesPerSession);
        const q = new URLSearchParams(plan.name ? { name: plan.name } : {});
        const created = await engineRequest(s.engine, {
          method: "POST",
          path,
          query: q,
          json: plan.body,
        }).catch(async (error: unknown) => {
          await volumes.rollback();
          throw error;
        });
        const answer = await readAll(created).catch(async (error: unknown) => {
          await volumes.rollback();
          throw error;
        });
        if ((created.statusCode ?? 500) >= 300) await volumes.rollback();
        return { upstream: created, text: answer };
      });
      return relayJsonText(s.view, res, upstream, text);
    },
    ["name"],
  ),

  route(
    "POST",
    "/containers/prune",
    async (s, { req, res, path, query }) => {
      await noBody(req);
      query.set("filters", scopedFilters(s.objects, "prune", query.get("filters")));
      return relayJson(s.view, res, await engineRequest(s.engine, { method: "POST", path, query }));
    },
    ["filters"],
  ),

  route(
    "GET",
    `/containers/${ID}/json`,
    forwardOwn("containers", "/json", (s, c) =>
      withoutCgroupParent(
        withPublishedPorts(showHomeBinds(s.scope, c) as Json),
        s.scope.cgroupParent,
      ),
    ),
    ["size"],
  ),

  route("POST", `/containers/${ID}/start`, op),
  route("POST", `/containers/${ID}/stop`, op, ["t"]),
  route("POST", `/containers/${ID}/restart`, op, ["t"]),
  route("POST", `/containers/${ID}/kill`, op, ["signal"]),
  route("POST", `/containers/${ID}/pause`, op),
  route("POST", `/containers/${ID}/unpause`, op),
  route("POST", `/containers/${ID}/resize`, op, ["h", "w"]),
  route("POST", `/containers/${ID}/wait`, stream, ["condition"], { stream: true }),
  route("GET", `/containers/${ID}/top`, op, ["ps_args"]),
  route("GET", `/containers/${ID}/changes`, op),
  route(
    "GET",
    `/containers/${ID}/logs`,
    stream,
    ["follow", "stdout", "stderr", "since", "until", "timestamps", "tail", "details"],
    { stream: true },
  ),
  route("GET", `/containers/${ID}/stats`, stream, ["stream", "one-shot"], { stream: true }),
  route("GET", `/containers/${ID}/export`, stream, [], { stream: true }),

  route(
    "POST",
    `/containers/${ID}/rename`,
    async (s, { req, res, params, query }) => {
      await noBody(req);
      const id = await s.objects.containerId(params[0]!);
      const name = checkName("container", query.get("name") ?? "");
      return relay(
        s.view,
        res,
        await engineRequest(s.engine, {
          method: "POST",
          path: `/containers/${id}/rename`,
          query: new URLSearchParams({ name: s.scope.engineName(name) }),
        }),
      );
    },
    ["name"],
  ),

  route("POST", `/containers/${ID}/update`, async (s, { req, res, params }) => {
    const id = await s.objects.containerId(params[0]!);
    const plan = planContainerUpdate(await jsonBody(req));
    return relayJson(
      s.view,
      res,
      await engineRequest(s.engine, {
        method: "POST",
        path: `/containers/${id}/update`,
        json: plan,
      }),
    );
  }),

  route(
    "POST",
    `/containers/${ID}/attach`,
    async () => {
      throw new PolicyError("attach needs an upgraded connection (Connection: Upgrade)", 400);
    },
    ["stream", "stdin", "stdout", "stderr", "logs", "detachKeys"],
    {
      upgrade: async (s, { params, head }) => ({
        path: `/containers/${await s.objects.containerId(params[0]!)}/attach`,
        head,
      }),
    },
  ),

  route("HEAD", `/containers/${ID}/archive`, archive, ["path"]),
  route("GET", `/containers/${ID}/archive`, archive, ["path"]),
  route("PUT", `/containers/${ID}/archive`, archive, [
    "path",
    "noOverwriteDirNonDir",
    "copyUIDGID",
  ]),

  route(
    "DELETE",
    `/containers/${ID}`,
    async (s, { req, res, params, query }) => {
      await noBody(req);
      const id = await s.objects.containerId(params[0]!);
      const { body: info } = await engineJson<{ Config?: { Labels?: Record<string, string> } }>(
        s.engine,
        { method: "GET", path: `/containers/${id}/json` },
      );
      const upstream = await engineRequest(s.engine, {
        method: "DELETE",
        path: `/containers/${id}`,
        query,
      });
      if (
        upstream.statusCode === 204 &&
        query.get("v") &&
        ["1", "true"].includes(query.get("v")!)
      ) {
        await removeAnonymousVolumes(s, info.Config?.Labels?.[LABEL_ANON_VOLUMES]);
      }
      return relay(s.view, res, upstream);
    },
    ["v", "force", "link"],
  ),

  refused("GET", `/containers/${ID}/attach/ws`, "websocket attach"),
];

/** `docker cp`: HEAD and GET read the container's files, PUT writes an archive into it. */
async function archive(
  s: SessionContext,
  { req, res, params, query }: RouteRequest,
): Promise<void> {
  const id = await s.objects.containerId(params[0]!);
  if (req.method === "PUT") {
    // One at a time, each charged to the disk quota's allowance before the next: a container
    // that never ran is not paused by the quota, so this is where its layer is bounded.
    return s.archiveLock.run(async () => {
      // The archive is rebuilt entry by entry (archive-filter.ts): no device node, fifo or
      // set-id bit reaches the engine, and no more bytes than the session's disk quota has left.
      const limit = Math.min(LIMITS.archiveBodyBytes, await s.archiveAllowance.remaining());
      if (limit <= 0)
        throw new PolicyError(
          "this sandbox's disk quota is used up; free some space (rm, docker volume rm, docker rm) before docker cp",
          507,
        );
      const archive = filterArchive(
        limitStream(
          req,
          limit,
          `docker cp may bring at most ${Math.floor(limit / 1024 ** 2)} MiB now: that is what is left of the sandbox's disk quota (or the ${LIMITS.archiveBodyBytes / 1024 ** 2} MiB limit per copy)`,
        ),
      );
      // Charged whatever the outcome: a copy cut off at the limit still wrote up to it.
      const upstream = await engineRequest(s.engine, {
        method: "PUT",
        path: `/containers/${id}/archive`,
        query,
        stream: archive.stream,
        headers: { "content-type": "application/x-tar" },
      }).finally(() => s.archiveAllowance.charge(archive.bytes()));
      const refusedEntry = archive.refused();
      if (refusedEntry && (upstream.statusCode ?? 500) < 300) {
        await readAll(upstream).catch(() => undefined);
        throw refusedEntry;
      }
      return relay(s.view, res, upstream);
    });
  }
  await noBody(req);
  return relay(
    s.view,
    res,
    await engineRequest(s.engine, {
      method: req.method!,
      path: `/containers/${id}/archive`,
      query,
    }),
  );
}

/**
 * `since` / `before` name a container the engine looks up itself: another session's would be
 * found (200) where a missing one is not (500), telling that it exists. Only the session's own.
 */
async function ownPositionFilters(s: SessionContext, filters: string): Promise<string> {
  const parsed = JSON.parse(filters) as Record<string, string[]>;
  for (const key of ["since", "before"]) {
    if (parsed[key])
      parsed[key] = await Promise.all(parsed[key].map((ref) => s.objects.containerId(ref)));
  }
  return JSON.stringify(parsed);
}

/**
 * Bind sources were checked at create time, but the engine resolves them again at start: a
 * student could swap a folder for a link in between. Every start checks them once more.
 */
async function bindSources(s: SessionContext, id: string): Promise<string[]> {
  const { body } = await engineJson<{ Mounts?: { Type: string; Source: string }[] }>(s.engine, {
    method: "GET",
    path: `/containers/${id}/json`,
  });
  return (body.Mounts ?? []).filter((m) => m.Type === "bind").map((m) => m.Source);
}

async function recheckBinds(s: SessionContext, sources: string[]): Promise<void> {
  for (const source of sources) {
    // Checked in the ordinary home: through the view (bindDir) a link does not resolve at all.
    const inHome = [s.scope.bindDir, s.scope.workspaceDir].find(
      (dir) => source === dir || source.startsWith(dir + "/"),
    );
    if (inHome) {
      const path = s.scope.workspaceDir + source.slice(inHome.length);
      const real = await realpath(path).catch(() => path);
      if (real === path) continue;
    }
    throw new PolicyError(
      `this sandbox does not allow starting this container: its bind mount ${s.view.text(source)} now leads outside your home (a link replaced a folder)`,
    );
  }
}

/** Two running containers cannot publish the same port, as on a real host. */
async function checkPortsFree(s: SessionContext, id: string): Promise<void> {
  const containers = await s.objects.ownedContainers();
  const mine = parsePorts(containers.find((c) => c.Id === id)?.Labels[LABEL_PORTS]);
  // Each forward is a listener in the workstation and a connection path through the server.
  const forwarding = containers
    .filter((c) => c.Id !== id && c.State === "running")
    .reduce((n, c) => n + parsePorts(c.Labels[LABEL_PORTS]).length, 0);
  if (mine.length > 0 && forwarding + mine.length > BOUNDS.publishedPortsPerSession) {
    throw new PolicyError(
      `this sandbox forwards at most ${BOUNDS.publishedPortsPerSession} published ports at once; ${forwarding} are in use by running containers: stop one (docker stop) before starting this one`,
      409,
    );
  }
  for (const other of containers) {
    if (other.Id === id || other.State !== "running") continue;
    const taken = parsePorts(other.Labels[LABEL_PORTS]).map((p) => p.hostPort);
    const clash = mine.find((p) => taken.includes(p.hostPort));
    if (clash)
      throw new PolicyError(
        `driver failed programming external connectivity on endpoint: Bind for 0.0.0.0:${clash.hostPort} failed: port is already allocated`,
        500,
      );
  }
}

/**
 * A `--rm` container whose start the proxy refuses is removed, as the engine removes one whose
 * own start fails: CLI 26's `docker run --rm` waits for that removal and would hang otherwise.
 */
async function removedIfRefused(
  s: SessionContext,
  id: string,
  checks: () => Promise<void>,
): Promise<void> {
  try {
    await checks();
  } catch (error) {
    const { body } = await engineJson<{ Config?: { Labels?: Record<string, string> } }>(s.engine, {
      method: "GET",
      path: `/containers/${id}/json`,
    }).catch(() => ({ body: undefined }));
    const labels = body?.Config?.Labels ?? {};
    if (labels[LABEL_AUTOREMOVE] === "1") {
      await engineJson(s.engine, {
        method: "DELETE",
        path: `/containers/${id}`,
        query: new URLSearchParams({ force: "1" }),
      }).catch(() => undefined);
      await removeAnonymousVolumes(s, labels[LABEL_ANON_VOLUMES]);
    }
    throw error;
  }
}

async function removeAnonymousVolumes(s: SessionContext, list: string | undefined): Promise<void> {
  for (const name of (list ?? "").split(",").filter(Boolean)) {
    if (!name.startsWith(s.scope.prefix)) continue;
    await engineJson(s.engine, { method: "DELETE", path: `/volumes/${name}` }).catch(
      () => undefined,
    );
  }
}
/** inspect shows `-p` mappings where the CLI looks for them (`docker port`, HostConfig). */
function withPublishedPorts(container: Json): Json {
  const config = container.Config as { Labels?: Record<string, string> } | undefined;
  const ports = parsePorts(config?.Labels?.[LABEL_PORTS]);
  if (ports.length === 0) return container;
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports)
    (bindings[`${p.containerPort}/tcp`] ??= []).push({ HostIp: "", HostPort: String(p.hostPort) });
  const running = (container.State as { Running?: boolean } | undefined)?.Running;
  const network = (container.NetworkSettings ?? {}) as Json;
  const shown = Object.fromEntries(
    Object.entries(bindings).map(([k, v]) => [
      k,
      v.map((b) => ({ HostIp: "0.0.0.0", HostPort: b.HostPort })),
    ]),
  );
  return {
    ...container,
    HostConfig: { ...(container.HostConfig as Json), PortBindings: bindings },
    NetworkSettings: {
      ...network,
      Ports: running ? { ...((network.Ports as Json) ?? {}), ...shown } : network.Ports,
    },
  };
}
