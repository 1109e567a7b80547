/**
 * The per-session Docker API proxy: a Unix socket mounted into the student's workstation as
 * /var/run/docker.sock. Each request is matched against the policy (policy.ts), the objects it
 * names are resolved to the session's own, and a new request built from validated fields goes to
 * the engine; the answer is rewritten into the student's names and paths (rewrite.ts).
 *
 * Browser → server.ts (WebSocket) → terminal → workstation container → docker CLI
 *   → THIS socket → policy.ts → engine-http.ts → the Docker engine
 */
import { isCheckReaderEvent } from "../docker/check-readers.ts";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Transform, type Duplex } from "node:stream";
import { finished } from "node:stream/promises";
import type { Socket } from "node:net";
import { chmod, realpath, rm } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { randomBytes } from "node:crypto";
import type { Engine } from "../docker/engine.ts";
import type { Logger } from "../log.ts";
import { LABEL_ANONYMOUS, LABEL_ANON_VOLUMES, LABEL_OWNER, LABEL_PORTS, withoutSessionPrefix, type SessionScope } from "../naming/scope.ts";
import { parsePorts } from "../naming/published-ports.ts";
import { engineJson, enginePath, engineRequest, readAll } from "./engine-http.ts";
import {
  LIMITS, PolicyError, matchEndpoint, planContainerCreate, planContainerUpdate, planExecCreate, planExecStart,
  planNetworkConnect, planNetworkCreate, planVolumeCreate, scopedFilters, checkName, imageRef, type SessionObjects,
} from "./policy.ts";
import { parseStrictJson } from "./strict-json.ts";
import { StudentView } from "./rewrite.ts";
import { workspaceHostPath } from "./workspace-paths.ts";
import { BOUNDS } from "./bounds.ts";
import { Mutex, RateBudget, Semaphore } from "./session-budget.ts";
import { PlannedVolumes } from "./planned-volumes.ts";
import { execWorkingDir } from "./container-paths.ts";
import { filterArchive } from "./archive-filter.ts";
import { eachLine } from "../http/lines.ts";
import { sendJson } from "../http/router.ts";
import { cappedApiVersion, checkEngineSpeaks, requireApiVersion, splitVersionPrefix, withApiVersion } from "./api-versions.ts";
import { withoutBridgeName, withoutCgroupParent } from "./internal-names.ts";
import { handleImages } from "./build.ts"; // [builds hook]
import { SessionImages } from "./own-images.ts"; // [builds hook]

type Json = Record<string, unknown>;
interface ContainerSummary { Id: string; Names: string[]; Labels: Record<string, string> }
interface VolumeSummary { Name: string; Labels: Record<string, string> | null }
interface NetworkSummary { Id: string; Name: string; Containers?: Record<string, unknown> }

export interface ProxyOptions {
  scope: SessionScope;
  engine: Engine;
  log: Logger;
  /** The engine's data root (e.g. /var/lib/docker/100000.100000), hidden from the student. */
  engineRootDir?: string;
  /** The workstation container, which the student never sees and which joins their networks. */
  workstationId: () => string | undefined;
  /** Called after a container starts, before the student's CLI hears so (port forwards). */
  onContainerStarted?: (id: string) => Promise<void>;
  /** Called when a start has waited a while for the engine (docker/engine-admission.ts), with the starts waiting. */
  onStartQueued?: (waiting: number) => void;
}

/**
 * Unread bytes one `docker events` answer may hold in the server: ddc0117 wrote every event to
 * a client that never read, and such clients grew the server from 132 MB to 2.3 GB in 32 s.
 */
export const EVENTS_MAX_UNREAD_BYTES = 256 * 1024;

export class SandboxProxy implements SessionObjects {
  readonly scope: SessionScope;
  readonly execIds = new Set<string>();
  /** Sockets of upgraded streams, both sides, ended when the proxy closes. */
  private readonly streams = new Set<Duplex>();
  /** Requests being handled: close() waits for them, or one could reach the engine after the session's cleanup listed its objects. */
  private readonly inFlight = new Set<Promise<void>>();
  private closing = false;
  private readonly engine: Engine;
  private readonly log: Logger;
  private readonly view: StudentView;
  private readonly workstationId: () => string | undefined;
  private readonly onContainerStarted: (id: string) => Promise<void>;
  private readonly onStartQueued: ((waiting: number) => void) | undefined;
  private readonly server: Server;
  /** Requests handled at once across the session's connections (session-budget.ts). */
  private readonly requestSlots = new Semaphore(BOUNDS.requestsInFlight);
  /** One quota check and the create it guards at a time. */
  private readonly quotaLock = new Mutex();
  private readonly execBudget = new RateBudget(BOUNDS.execsPerSecond, BOUNDS.execBurst);
  private readonly diskUsageBudget = new RateBudget(BOUNDS.diskUsagePerSecond, BOUNDS.diskUsageBurst);
  private openStreams = 0;
  /** Pipelined requests of each connection, answered one at a time in order. */
  private readonly pipelines = new WeakMap<Socket, { tail: Promise<void>; waiting: number }>();
  private readonly archiveLock = new Mutex();
  /** What `docker cp` into a container may still bring: the session's disk quota minus use (set by the session manager). */
  archiveAllowance: { remaining(): Promise<number> | number; charge(bytes: number): void } = { remaining: () => LIMITS.archiveBodyBytes, charge: () => undefined };

  constructor(options: ProxyOptions) {
    this.scope = options.scope;
    this.engine = options.engine;
    this.log = options.log.child({ session: options.scope.sessionId });
    this.view = new StudentView(options.scope, options.engineRootDir);
    this.workstationId = options.workstationId;
    this.onContainerStarted = options.onContainerStarted ?? (async () => {});
    this.onStartQueued = options.onStartQueued;
    this.server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 0 }, (req, res) => this.track(this.inTurn(req, res)));
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.onUpgrade(req, socket, head));
    this.server.on("clientError", (_err, socket) => socket.destroy());
    // The socket is the student's, but its connections live in the one server process every
    // session shares: bound them (the CLI needs a handful; logs -f and events hold one each).
    this.server.maxConnections = LIMITS.proxyConnections;
    this.server.headersTimeout = 30_000;
  }

  async listen(): Promise<void> {
    const path = this.scope.proxySocketPath;
    await rm(path, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      // A unix socket's address is the path given to bind(2), and the student's CLI reads it
      // (getpeername; BuildKit prints it): bind by a relative name so it shows "docker.sock",
      // not the host's data folder. bind(2) runs synchronously inside listen(), so the working
      // directory is ours for that instant only. Where chdir is unavailable, the full path.
      let cwd: string | undefined;
      try {
        cwd = process.cwd();
        process.chdir(dirname(path));
      } catch {
        cwd = undefined;
      }
      try {
        this.server.listen(cwd === undefined ? path : basename(path), () => resolve());
      } finally {
        if (cwd !== undefined) process.chdir(cwd);
      }
    });
    await chmod(path, 0o666); // the student's remapped uid must connect
  }

  async close(): Promise<void> {
    this.closing = true;
    this.server.closeAllConnections();
    // Upgraded streams (attach, exec) left HTTP's bookkeeping: end them too, or close() waits
    // for them forever and the session is never removed.
    for (const socket of this.streams) socket.destroy();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    // A handler whose client is gone still finishes its engine calls (a create, say): wait for
    // them, so what they make exists before the session's objects are listed and removed.
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, 10_000).unref())]);
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  // -------------------------------------------------------------------------------------------
  // Requests
  // -------------------------------------------------------------------------------------------

  /**
   * Node starts every request pipelined on a connection at once; here each waits for the answer
   * before it to be written out (so a client that does not read stops the engine work too), then
   * for one of the session's request slots. A connection with too many waiting is refused.
   */
  private async inTurn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket;
    let pipeline = this.pipelines.get(socket);
    if (!pipeline) this.pipelines.set(socket, (pipeline = { tail: Promise.resolve(), waiting: 0 }));
    if (pipeline.waiting >= BOUNDS.pipelinedPerConnection) {
      res.shouldKeepAlive = false;
      return this.fail(res, new PolicyError(`this sandbox answers at most ${BOUNDS.pipelinedPerConnection} requests queued on one connection; wait for the answers before sending more`, 429));
    }
    pipeline.waiting++;
    const previous = pipeline.tail;
    let done!: () => void;
    pipeline.tail = new Promise<void>((resolve) => (done = resolve));
    try {
      await previous;
      pipeline.waiting--;
      const release = await this.requestSlots.acquire();
      try {
        await this.onRequest(req, res);
      } finally {
        release(); // a streaming answer (logs -f, events, wait) holds no slot while it streams
      }
      await finished(res).catch(() => undefined);
    } finally {
      done();
    }
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.closing) return void res.destroy();
    try {
      const { path, query, version } = splitUrl(req.url ?? "/", this.engine.apiVersion);
      const encoding = req.headers["content-encoding"];
      if (encoding && encoding !== "identity") throw new PolicyError(`this sandbox does not accept ${encoding}-encoded bodies`, 415);
      const endpoint = matchEndpoint(req.method ?? "GET", path, query);
      await checkEngineSpeaks(this.engine, version);
      await withApiVersion(version, () => this.handle(endpoint.kind, endpoint.params, endpoint.query, req, res, path));
    } catch (error) {
      this.fail(res, error);
    }
  }

  private fail(res: ServerResponse, error: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    let status = 500;
    let message = "internal error in the sandbox proxy";
    if (error instanceof PolicyError) {
      status = error.status;
      message = error.message;
    } else if ((error as { engineDown?: boolean }).engineDown) {
      status = 503;
      message = "the Docker engine is not answering right now; try again in a moment";
    } else if ((error as { code?: string }).code === "ECONNRESET") {
      return; // the student's client went away mid-request
    } else {
      this.log.error({ err: error }, "proxy request failed");
    }
    sendJson(res, status, { message });
  }

  private async handle(kind: string, params: string[], query: URLSearchParams, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const [ref] = params;
    if (kind === "events" || kind === "container.stream") this.reserveStream(res);
    switch (kind) {
      case "ping":
      case "version": {
        await this.noBody(req);
        const upstream = await engineRequest(this.engine, { method: req.method!, path });
        // The CLI settles on this version: never one newer than the policy knows (api-versions.ts).
        upstream.headers["api-version"] = cappedApiVersion(upstream.headers["api-version"] as string | undefined);
        return this.relay(res, upstream);
      }
      case "info":
        await this.noBody(req);
        return sendJson(res, 200, await this.info());
      case "system.df":
        await this.noBody(req);
        // The engine walks every session's containers and volumes for it: paced per session.
        await this.diskUsageBudget.take();
        return sendJson(res, 200, await this.systemDf());
      case "events":
        await this.noBody(req);
        return this.events(query, res);

      case "containers.list":
        await this.noBody(req);
        query.set("filters", await this.ownPositionFilters(scopedFilters(this, "containers", query.get("filters"))));
        return this.relayJson(res, await engineRequest(this.engine, { method: "GET", path, query }), (list) =>
          (list as (ContainerSummary & { State?: string; Ports?: unknown[] })[])
            .filter((c) => c.Labels?.[LABEL_OWNER] === this.scope.sessionId)
            .map((c) => (c.State === "running" ? { ...c, Ports: [...(c.Ports ?? []), ...parsePorts(c.Labels[LABEL_PORTS]).map((p) => ({ IP: "0.0.0.0", PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: "tcp" }))] } : c)),
        );
      case "containers.create": {
        const body = await this.jsonBody(req);
        // One create at a time per session: the counts read are the counts the create lands on.
        const { upstream, text } = await this.quotaLock.run(async () => {
          // Volumes the request needs are only made once the whole request passed the policy
          // and the volume quota (planned-volumes.ts): a refused create leaves nothing behind.
          const volumes = new PlannedVolumes(this.scope, this.engine, this.view);
          // Bind folders are checked here and named to the engine through the session's bind view,
          // where no link is followed: a link swapped in after the check fails the engine's lookup.
          const plan = await planContainerCreate(volumes.objects(this), body, query.get("name"));
          await volumes.commit(LIMITS.volumesPerSession);
          const q = new URLSearchParams(plan.name ? { name: plan.name } : {});
          const created = await engineRequest(this.engine, { method: "POST", path, query: q, json: plan.body }).catch(async (error: unknown) => {
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
        return this.relayJsonText(res, upstream, text);
      }
      case "containers.prune":
        await this.noBody(req);
        query.set("filters", scopedFilters(this, "prune", query.get("filters")));
        return this.relayJson(res, await engineRequest(this.engine, { method: "POST", path, query }));
      case "container.inspect":
        await this.noBody(req);
        return this.relayJson(res, await engineRequest(this.engine, { method: "GET", path: `/containers/${await this.containerId(ref!)}/json`, query }), (c) => withoutCgroupParent(withPublishedPorts(c as Json), this.scope.cgroupParent));
      case "container.op":
      case "container.stream": {
        await this.noBody(req);
        const id = await this.containerId(ref!);
        const action = path.split("/").pop()!;
        let upstream: IncomingMessage;
        if (action === "start" || action === "restart") {
          await this.checkPortsFree(id);
          // The engine resolves bind folders again when it starts the container. Through the bind
          // view a swapped-in link cannot resolve anyway; checking first gives the student a clear message.
          await this.recheckBinds(await this.bindSources(id));
          if (action === "restart") {
            // A restart is a stop, then a start. The stop may wait out its grace period (10 s by
            // default) and must not hold a start slot meanwhile, so it goes first, outside the queue.
            const stopped = await engineRequest(this.engine, { method: "POST", path: `/containers/${id}/stop`, query });
            if ((stopped.statusCode ?? 500) >= 400) return this.relay(res, stopped);
            await readAll(stopped);
          }
          // Starts queue across the class (docker/engine-admission.ts): the engine's start work
          // runs outside every session's cgroup, and unbounded it slows every terminal.
          upstream = await this.engine.starts.run(this.scope.sessionId, async () => {
            if (this.closing) throw new PolicyError("this session is ending; the container was not started", 503);
            // The engine answers a start once the container runs, so the slot covers the work.
            return engineRequest(this.engine, { method: "POST", path: `/containers/${id}/start` });
          }, this.onStartQueued);
        } else {
          upstream = await engineRequest(this.engine, { method: req.method!, path: `/containers/${id}/${action}`, query });
        }
        if ((action === "start" || action === "restart") && (upstream.statusCode ?? 500) < 300) await this.onContainerStarted(id).catch(() => undefined);
        if (action === "stats") return this.relayLines(res, upstream);
        // wait sends its headers at once and its body at exit (the CLI starts the container only
        // after the headers); logs and export are the student's own bytes: pass them as they come.
        return kind === "container.stream" ? this.relayStream(res, upstream) : this.relay(res, upstream);
      }
      case "container.rename": {
        await this.noBody(req);
        const id = await this.containerId(ref!);
        const name = checkName("container", query.get("name") ?? "");
        return this.relay(res, await engineRequest(this.engine, { method: "POST", path: `/containers/${id}/rename`, query: new URLSearchParams({ name: this.scope.engineName(name) }) }));
      }
      case "container.update": {
        const id = await this.containerId(ref!);
        const plan = planContainerUpdate(await this.jsonBody(req));
        return this.relayJson(res, await engineRequest(this.engine, { method: "POST", path: `/containers/${id}/update`, json: plan }));
      }
      case "container.delete": {
        await this.noBody(req);
        const id = await this.containerId(ref!);
        const { body: info } = await engineJson<{ Config?: { Labels?: Record<string, string> } }>(this.engine, { method: "GET", path: `/containers/${id}/json` });
        const upstream = await engineRequest(this.engine, { method: "DELETE", path: `/containers/${id}`, query });
        if (upstream.statusCode === 204 && query.get("v") && ["1", "true"].includes(query.get("v")!)) {
          await this.removeAnonymousVolumes(info.Config?.Labels?.[LABEL_ANON_VOLUMES]);
        }
        return this.relay(res, upstream);
      }
      case "container.archive": {
        const id = await this.containerId(ref!);
        if (req.method === "PUT") {
          // One at a time, each charged to the disk quota's allowance before the next: a container
          // that never ran is not paused by the quota, so this is where its layer is bounded.
          return this.archiveLock.run(async () => {
            // The archive is rebuilt entry by entry (archive-filter.ts): no device node, fifo or
            // set-id bit reaches the engine, and no more bytes than the session's disk quota has left.
            const limit = Math.min(LIMITS.archiveBodyBytes, await this.archiveAllowance.remaining());
            if (limit <= 0) throw new PolicyError("this sandbox's disk quota is used up; free some space (rm, docker volume rm, docker rm) before docker cp", 507);
            const archive = filterArchive(limitStream(req, limit, `docker cp may bring at most ${Math.floor(limit / 1024 ** 2)} MiB now: that is what is left of the sandbox's disk quota (or the ${LIMITS.archiveBodyBytes / 1024 ** 2} MiB limit per copy)`));
            // Charged whatever the outcome: a copy cut off at the limit still wrote up to it.
            const upstream = await engineRequest(this.engine, { method: "PUT", path: `/containers/${id}/archive`, query, stream: archive.stream, headers: { "content-type": "application/x-tar" } })
              .finally(() => this.archiveAllowance.charge(archive.bytes()));
            const refused = archive.refused();
            if (refused && (upstream.statusCode ?? 500) < 300) {
              await readAll(upstream).catch(() => undefined);
              throw refused;
            }
            return this.relay(res, upstream);
          });
        }
        await this.noBody(req);
        return this.relay(res, await engineRequest(this.engine, { method: req.method!, path: `/containers/${id}/archive`, query }));
      }
      case "container.attach":
        throw new PolicyError("attach needs an upgraded connection (Connection: Upgrade)", 400);
      case "exec.create": {
        const id = await this.containerId(ref!);
        const plan = planExecCreate(await this.jsonBody(req));
        // -w is resolved in the container as its kernel would: a link into /proc is /proc.
        if (plan.WorkingDir) {
          const workingDir = await execWorkingDir(this.engine, id, String(plan.WorkingDir));
          if (workingDir.refused) throw new PolicyError(`this sandbox does not allow --workdir ${String(plan.WorkingDir)}: it leads into /proc or /sys, which are off limits`);
          plan.WorkingDir = workingDir.path;
        }
        await this.execBudget.take();
        const upstream = await engineJson<{ Id?: string }>(this.engine, { method: "POST", path: `/containers/${id}/exec`, json: plan });
        if (upstream.body?.Id) this.rememberExec(upstream.body.Id);
        return sendJson(res, upstream.status, this.view.json(upstream.body));
      }
      case "exec.start": {
        const body = planExecStart(await this.jsonBody(req));
        if (!body.Detach) throw new PolicyError("an attached exec needs an upgraded connection (Connection: Upgrade)", 400);
        return this.relay(res, await engineRequest(this.engine, { method: "POST", path: `/exec/${this.execId(ref!)}/start`, json: body }));
      }
      case "exec.op": {
        await this.noBody(req);
        const action = path.split("/").pop()!;
        return this.relayJson(res, await engineRequest(this.engine, { method: req.method!, path: `/exec/${this.execId(ref!)}/${action}`, query }));
      }

      case "volumes.list":
        await this.noBody(req);
        query.set("filters", scopedFilters(this, "volumes", query.get("filters")));
        return this.relayJson(res, await engineRequest(this.engine, { method: "GET", path, query }), (answer) => {
          const a = answer as { Volumes?: VolumeSummary[] };
          return { ...a, Volumes: (a.Volumes ?? []).filter((v) => v.Labels?.[LABEL_OWNER] === this.scope.sessionId) };
        });
      case "volumes.create": {
        const body = await this.jsonBody(req);
        const { upstream, text } = await this.quotaLock.run(async () => {
          const plan = await planVolumeCreate(this, body);
          const created = await engineRequest(this.engine, { method: "POST", path, json: plan.body });
          return { upstream: created, text: await readAll(created) };
        });
        return this.relayJsonText(res, upstream, text);
      }
      case "volumes.prune":
        await this.noBody(req);
        query.set("filters", scopedFilters(this, "volumePrune", query.get("filters")));
        // `all` is API 1.42's: Engine 20.10 does not know it, and older versions prune named volumes anyway.
        if ("all" in (JSON.parse(query.get("filters")!) as Json)) requireApiVersion("the volume prune filter all (--all)", "1.42");
        return this.relayJson(res, await engineRequest(this.engine, { method: "POST", path, query }));
      case "volume.inspect":
        await this.noBody(req);
        return this.relayJson(res, await engineRequest(this.engine, { method: "GET", path: `/volumes/${await this.volumeName(ref!)}` }));
      case "volume.delete":
        await this.noBody(req);
        return this.relay(res, await engineRequest(this.engine, { method: "DELETE", path: `/volumes/${await this.volumeName(ref!)}`, query }));

      case "networks.list":
        await this.noBody(req);
        query.set("filters", scopedFilters(this, "networks", query.get("filters")));
        return this.relayJson(res, await engineRequest(this.engine, { method: "GET", path, query }), (list) =>
          (list as (NetworkSummary & { Labels?: Record<string, string> })[]).filter((n) => n.Labels?.[LABEL_OWNER] === this.scope.sessionId).map((n) => withoutBridgeName(this.hideWorkstation(n))));
      case "networks.create": {
        const asked = await this.jsonBody(req);
        const created = await this.quotaLock.run(async () => engineJson<{ Id?: string }>(this.engine, { method: "POST", path, json: await planNetworkCreate(this, asked) }));
        const workstation = this.workstationId();
        if (created.body?.Id && workstation) {
          // The student's shell joins every network they make, so `curl http://web` works there too.
          await engineJson(this.engine, { method: "POST", path: `/networks/${created.body.Id}/connect`, json: { Container: workstation } });
        }
        return sendJson(res, created.status, this.view.json(created.body));
      }
      case "networks.prune":
        await this.noBody(req);
        return sendJson(res, 200, await this.pruneNetworks());
      case "network.inspect":
        await this.noBody(req);
        return this.relayJson(res, await engineRequest(this.engine, { method: "GET", path: `/networks/${await this.networkName(ref!)}`, query }), (n) => withoutBridgeName(this.hideWorkstation(n as NetworkSummary)));
      case "network.delete": {
        await this.noBody(req);
        const name = await this.networkName(ref!);
        if (name === this.scope.networkName) throw new PolicyError("bridge is a pre-defined network and cannot be removed", 403);
        await this.detachWorkstation(name);
        return this.relay(res, await engineRequest(this.engine, { method: "DELETE", path: `/networks/${name}` }));
      }
      case "network.connect": {
        const name = await this.networkName(ref!);
        const disconnect = path.endsWith("/disconnect");
        const body = await planNetworkConnect(this, await this.jsonBody(req), disconnect);
        return this.relay(res, await engineRequest(this.engine, { method: "POST", path: `/networks/${name}/${disconnect ? "disconnect" : "connect"}`, json: body }));
      }

      case "images.list": // [builds hook] images as the session sees them: build.ts, own-images.ts
      case "image.inspect":
      case "image.build":
      case "image.tag":
      case "image.delete":
        return handleImages(kind, { engine: this.engine, scope: this.scope, view: this.view, allowance: this.archiveAllowance, filters: (raw) => scopedFilters(this, "images", raw, false) }, params, query, req, res);
    }
    throw new PolicyError(`unhandled endpoint ${kind}`, 500);
  }

  // -------------------------------------------------------------------------------------------
  // Upgraded streams: attach and exec start
  // -------------------------------------------------------------------------------------------

  private async onUpgrade(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    client.on("error", () => client.destroy());
    this.streams.add(client);
    client.on("close", () => this.streams.delete(client));
    let version = this.engine.apiVersion;
    try {
      version = splitUrl(req.url ?? "/", version).version;
    } catch {
      // reported below, where the request is read again
    }
    return withApiVersion(version, () => this.onUpgradeVersioned(req, client, head));
  }

  private async onUpgradeVersioned(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    try {
      const { path, query, version } = splitUrl(req.url ?? "/", this.engine.apiVersion);
      const endpoint = matchEndpoint(req.method ?? "GET", path, query);
      await checkEngineSpeaks(this.engine, version);
      let enginePathname: string;
      let body: Json | undefined;
      if (endpoint.kind === "container.attach") {
        enginePathname = `/containers/${await this.containerId(endpoint.params[0]!)}/attach`;
      } else if (endpoint.kind === "exec.start") {
        const execId = this.execId(endpoint.params[0]!);
        const { json, rest } = await readUpgradeBody(req, client, head);
        head = rest;
        body = planExecStart(json);
        enginePathname = `/exec/${execId}/start`;
      } else {
        throw new PolicyError(`${req.method} ${path} cannot be upgraded`, 400);
      }
      const payload = body ? Buffer.from(JSON.stringify(body)) : undefined;
      const upstream = request({
        ...this.engine.httpTarget,
        agent: false,
        method: "POST",
        path: enginePath(this.engine, enginePathname, endpoint.query),
        headers: { host: "docker", connection: "Upgrade", upgrade: "tcp", ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}) },
      });
      upstream.on("upgrade", (res, engineSocket, engineHead) => {
        this.streams.add(engineSocket);
        engineSocket.on("close", () => this.streams.delete(engineSocket));
        if (client.destroyed) return void engineSocket.destroy();
        const contentType = res.headers["content-type"] ?? "application/vnd.docker.raw-stream";
        client.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
        if (engineHead.length) client.write(engineHead);
        if (head.length) engineSocket.write(head);
        // Bytes after the upgrade are the process's stdin: the engine never parses them as HTTP.
        engineSocket.pipe(client, { end: false });
        client.pipe(engineSocket, { end: false });
        client.on("end", () => engineSocket.end()); // half-close: stdin done, output continues
        engineSocket.on("end", () => client.end());
        engineSocket.on("error", () => client.destroy());
        client.on("close", () => engineSocket.destroy());
        engineSocket.on("close", () => client.destroy());
      });
      upstream.on("response", async (res) => {
        const text = (await readAll(res)).toString("utf8");
        writeRawResponse(client, res.statusCode ?? 500, this.view.text(text), res.headers["content-type"] ?? "application/json");
      });
      upstream.on("error", () => writeRawResponse(client, 503, JSON.stringify({ message: "the Docker engine is not answering right now; try again in a moment" })));
      upstream.end(payload);
    } catch (error) {
      const status = error instanceof PolicyError ? error.status : 500;
      const message = error instanceof PolicyError ? error.message : "internal error in the sandbox proxy";
      if (!(error instanceof PolicyError)) this.log.error({ err: error }, "upgrade failed");
      writeRawResponse(client, status, JSON.stringify({ message }));
    }
  }

  // -------------------------------------------------------------------------------------------
  // SessionObjects: the session's own objects, found by label
  // -------------------------------------------------------------------------------------------

  private async ownedContainers(): Promise<ContainerSummary[]> {
    const query = new URLSearchParams({ all: "1", filters: JSON.stringify({ label: [this.scope.ownerFilter()] }) });
    const { body } = await engineJson<ContainerSummary[]>(this.engine, { method: "GET", path: "/containers/json", query });
    return (body ?? []).filter((c) => c.Labels?.[LABEL_OWNER] === this.scope.sessionId);
  }

  private async ownedVolumes(): Promise<VolumeSummary[]> {
    const query = new URLSearchParams({ filters: JSON.stringify({ label: [this.scope.ownerFilter()] }) });
    const { body } = await engineJson<{ Volumes?: VolumeSummary[] }>(this.engine, { method: "GET", path: "/volumes", query });
    return (body?.Volumes ?? []).filter((v) => v.Labels?.[LABEL_OWNER] === this.scope.sessionId);
  }

  private async ownedNetworks(): Promise<NetworkSummary[]> {
    const query = new URLSearchParams({ filters: JSON.stringify({ label: [this.scope.ownerFilter()] }) });
    const { body } = await engineJson<(NetworkSummary & { Labels?: Record<string, string> })[]>(this.engine, { method: "GET", path: "/networks", query });
    return (body ?? []).filter((n) => n.Labels?.[LABEL_OWNER] === this.scope.sessionId);
  }

  /** The session's containers matching an engine filter: the engine filters, so a lookup does not parse the whole list. */
  private async ownedContainersWhere(filter: Record<string, string[]>): Promise<ContainerSummary[]> {
    const query = new URLSearchParams({ all: "1", filters: JSON.stringify({ ...filter, label: [this.scope.ownerFilter()] }) });
    const { body } = await engineJson<ContainerSummary[]>(this.engine, { method: "GET", path: "/containers/json", query });
    return (body ?? []).filter((c) => c.Labels?.[LABEL_OWNER] === this.scope.sessionId);
  }

  async containerId(ref: string): Promise<string> {
    const wanted = "/" + this.scope.engineName(ref);
    // Names are checked before they become a pattern (the engine reads name filters as regexps).
    if (/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}$/.test(ref)) {
      const byName = (await this.ownedContainersWhere({ name: [`^${wanted.replaceAll(".", "\\.")}$`] })).find((c) => c.Names.includes(wanted));
      if (byName) return byName.Id;
    }
    if (/^[a-f0-9]{1,64}$/.test(ref)) {
      const byId = (await this.ownedContainersWhere({ id: [ref] })).filter((c) => c.Id.startsWith(ref));
      if (byId.length === 1) return byId[0]!.Id;
      if (byId.length > 1) throw new PolicyError(`multiple containers match the ID prefix ${ref}`, 400);
    }
    throw new PolicyError(`No such container: ${ref}`, 404);
  }

  /**
   * `since` / `before` name a container the engine looks up itself: another session's would be
   * found (200) where a missing one is not (500), telling that it exists. Only the session's own.
   */
  private async ownPositionFilters(filters: string): Promise<string> {
    const parsed = JSON.parse(filters) as Record<string, string[]>;
    for (const key of ["since", "before"]) {
      if (parsed[key]) parsed[key] = await Promise.all(parsed[key].map((ref) => this.containerId(ref)));
    }
    return JSON.stringify(parsed);
  }

  async volumeName(ref: string): Promise<string> {
    const engineName = this.scope.engineName(ref);
    if ((await this.ownedVolumes()).some((v) => v.Name === engineName)) return engineName;
    throw new PolicyError(`get ${ref}: no such volume`, 404);
  }

  async volumeForMount(studentName: string): Promise<string> {
    const engineName = this.scope.engineName(studentName);
    const volumes = await this.ownedVolumes();
    if (volumes.some((v) => v.Name === engineName)) return engineName;
    if (volumes.length >= LIMITS.volumesPerSession) throw new PolicyError(`this sandbox holds at most ${LIMITS.volumesPerSession} volumes; remove some with docker volume rm`, 409);
    await this.createVolume(engineName, {});
    return engineName;
  }

  async anonymousVolume(): Promise<string> {
    const engineName = this.scope.engineName(randomBytes(32).toString("hex"));
    // The engine's own mark too: from API 1.42 `docker volume prune` removes only volumes so marked.
    await this.createVolume(engineName, { [LABEL_ANONYMOUS]: "1", "com.docker.volume.anonymous": "" });
    return engineName;
  }

  private async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    const { status, body } = await engineJson<{ message?: string }>(this.engine, { method: "POST", path: "/volumes/create", json: { Name: name, Driver: "local", Labels: { ...labels, ...this.scope.ownedLabels() } } });
    if (status >= 300) throw new PolicyError(this.view.text(body?.message ?? "volume create failed"), status);
  }

  async networkName(ref: string): Promise<string> {
    if (ref === "bridge" || ref === "default") return this.scope.networkName;
    const networks = await this.ownedNetworks();
    const byName = networks.find((n) => n.Name === this.scope.engineName(ref));
    if (byName) return byName.Name;
    const byId = /^[a-f0-9]{3,64}$/.test(ref) ? networks.filter((n) => n.Id.startsWith(ref)) : [];
    if (byId.length === 1) return byId[0]!.Name;
    throw new PolicyError(`network ${ref} not found`, 404);
  }

  /** [builds hook] own-images.ts */
  resolveImage(ref: string): Promise<string> {
    return new SessionImages(this.engine, this.scope).resolve(ref);
  }

  async imageVolumes(image: string): Promise<string[]> {
    const { status, body } = await engineJson<{ Config?: { Volumes?: Record<string, unknown> | null } }>(this.engine, { method: "GET", path: `/images/${imageRef(image)}/json` });
    if (status === 404) throw new PolicyError(`No such image: ${image}`, 404);
    if (status >= 300) throw new PolicyError(`cannot inspect the image ${image}`, status);
    return Object.keys(body?.Config?.Volumes ?? {});
  }

  /** The engine's path for a student's bind source: checked in the home, named through the view that follows no link. */
  async hostPath(studentPath: string): Promise<string | undefined> {
    const checked = await workspaceHostPath(studentPath, this.scope.workspaceDir);
    return checked === undefined ? undefined : this.scope.bindDir + checked.slice(this.scope.workspaceDir.length);
  }

  async counts(): Promise<{ containers: number; volumes: number; networks: number }> {
    const [containers, volumes, networks] = await Promise.all([this.ownedContainers(), this.ownedVolumes(), this.ownedNetworks()]);
    return { containers: containers.length, volumes: volumes.length, networks: networks.filter((n) => n.Name !== this.scope.networkName).length };
  }

  /**
   * A streaming answer (logs -f, stats, events, wait, export) is work the engine keeps doing
   * (stats reads cgroup files every second): at most BOUNDS.streamsPerSession at once.
   */
  private reserveStream(res: ServerResponse): void {
    if (this.openStreams >= BOUNDS.streamsPerSession) {
      throw new PolicyError(`this sandbox keeps at most ${BOUNDS.streamsPerSession} streams (logs -f, stats, events, wait) open at once; end some (Ctrl-C) first`, 429);
    }
    this.openStreams++;
    res.once("close", () => this.openStreams--);
  }

  /** The CLI needs its newest exec IDs only: the oldest are forgotten past a bound. */
  private rememberExec(id: string): void {
    this.execIds.add(id);
    if (this.execIds.size > BOUNDS.execsRemembered) this.execIds.delete(this.execIds.values().next().value!);
  }

  private execId(ref: string): string {
    if (!this.execIds.has(ref)) throw new PolicyError(`No such exec instance: ${ref}`, 404);
    return ref;
  }

  // -------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------

  /**
   * Bind sources were checked at create time, but the engine resolves them again at start: a
   * student could swap a folder for a link in between. Every start checks them once more.
   */
  private async bindSources(id: string): Promise<string[]> {
    const { body } = await engineJson<{ Mounts?: { Type: string; Source: string }[] }>(this.engine, { method: "GET", path: `/containers/${id}/json` });
    return (body.Mounts ?? []).filter((m) => m.Type === "bind").map((m) => m.Source);
  }

  private async recheckBinds(sources: string[]): Promise<void> {
    for (const source of sources) {
      // Checked in the ordinary home: through the view (bindDir) a link does not resolve at all.
      const inHome = [this.scope.bindDir, this.scope.workspaceDir].find((dir) => source === dir || source.startsWith(dir + "/"));
      if (inHome) {
        const path = this.scope.workspaceDir + source.slice(inHome.length);
        const real = await realpath(path).catch(() => path);
        if (real === path) continue;
      }
      throw new PolicyError(`this sandbox does not allow starting this container: its bind mount ${this.view.text(source)} now leads outside your home (a link replaced a folder)`);
    }
  }

  /** Two running containers cannot publish the same port, as on a real host. */
  private async checkPortsFree(id: string): Promise<void> {
    const containers = (await this.ownedContainers()) as (ContainerSummary & { State?: string })[];
    const mine = parsePorts(containers.find((c) => c.Id === id)?.Labels[LABEL_PORTS]);
    // Each forward is a listener in the workstation and a connection path through the server.
    const forwarding = containers.filter((c) => c.Id !== id && c.State === "running").reduce((n, c) => n + parsePorts(c.Labels[LABEL_PORTS]).length, 0);
    if (mine.length > 0 && forwarding + mine.length > BOUNDS.publishedPortsPerSession) {
      throw new PolicyError(`this sandbox forwards at most ${BOUNDS.publishedPortsPerSession} published ports at once; ${forwarding} are in use by running containers: stop one (docker stop) before starting this one`, 409);
    }
    for (const other of containers) {
      if (other.Id === id || other.State !== "running") continue;
      const taken = parsePorts(other.Labels[LABEL_PORTS]).map((p) => p.hostPort);
      const clash = mine.find((p) => taken.includes(p.hostPort));
      if (clash) throw new PolicyError(`driver failed programming external connectivity on endpoint: Bind for 0.0.0.0:${clash.hostPort} failed: port is already allocated`, 500);
    }
  }

  private async removeAnonymousVolumes(list: string | undefined): Promise<void> {
    for (const name of (list ?? "").split(",").filter(Boolean)) {
      if (!name.startsWith(this.scope.prefix)) continue;
      await engineJson(this.engine, { method: "DELETE", path: `/volumes/${name}` }).catch(() => undefined);
    }
  }

  private hideWorkstation<T extends NetworkSummary>(network: T): T {
    const workstation = this.workstationId();
    if (!network.Containers || !workstation) return network;
    const containers = { ...network.Containers };
    delete containers[workstation];
    return { ...network, Containers: containers };
  }

  private async detachWorkstation(network: string): Promise<void> {
    const workstation = this.workstationId();
    if (workstation) await engineJson(this.engine, { method: "POST", path: `/networks/${network}/disconnect`, json: { Container: workstation, Force: true } }).catch(() => undefined);
  }

  private async pruneNetworks(): Promise<Json> {
    const deleted: string[] = [];
    const workstation = this.workstationId();
    for (const network of await this.ownedNetworks()) {
      if (network.Name === this.scope.networkName) continue;
      const { body } = await engineJson<NetworkSummary>(this.engine, { method: "GET", path: `/networks/${network.Id}` });
      const users = Object.keys(body.Containers ?? {}).filter((id) => id !== workstation);
      if (users.length > 0) continue;
      await this.detachWorkstation(network.Id);
      const removed = await engineJson(this.engine, { method: "DELETE", path: `/networks/${network.Id}` });
      if (removed.status < 300) deleted.push(this.view.text(network.Name));
    }
    return { NetworksDeleted: deleted };
  }

  private async info(): Promise<Json> {
    const [{ body: info }, containers] = await Promise.all([engineJson<Json>(this.engine, { method: "GET", path: "/info" }), this.ownedContainers()]);
    const { body: states } = await engineJson<{ Id: string; State: string }[]>(this.engine, {
      method: "GET", path: "/containers/json",
      query: new URLSearchParams({ all: "1", filters: JSON.stringify({ label: [this.scope.ownerFilter()] }) }),
    });
    const count = (state: string) => (states ?? []).filter((c) => c.State === state).length;
    const pick = ["Driver", "MemoryLimit", "SwapLimit", "CpuCfsPeriod", "CpuCfsQuota", "KernelVersion", "OperatingSystem", "OSVersion", "OSType", "Architecture", "NCPU", "MemTotal", "ServerVersion", "SecurityOptions", "CgroupDriver", "CgroupVersion", "Images", "DefaultRuntime", "LoggingDriver"];
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

  private async systemDf(): Promise<Json> {
    const { body } = await engineJson<{ Containers?: ContainerSummary[]; Volumes?: VolumeSummary[]; Images?: unknown[]; LayersSize?: number }>(this.engine, { method: "GET", path: "/system/df" });
    return this.view.json({
      LayersSize: body.LayersSize ?? 0,
      Images: new SessionImages(this.engine, this.scope).visible(body.Images ?? []), // [builds hook] no other session's images
      Containers: (body.Containers ?? []).filter((c) => c.Labels?.[LABEL_OWNER] === this.scope.sessionId),
      Volumes: (body.Volumes ?? []).filter((v) => v.Labels?.[LABEL_OWNER] === this.scope.sessionId),
      BuildCache: [],
    }) as Json;
  }

  /** Engine events, cut down to this session's objects and rewritten, then the student's filters. */
  private async events(query: URLSearchParams, res: ServerResponse): Promise<void> {
    const studentFilters = JSON.parse(scopedFilters(this, "events", query.get("filters"), false)) as Record<string, string[]>;
    query.delete("filters");
    const upstream = await engineRequest(this.engine, { method: "GET", path: "/events", query });
    res.writeHead(upstream.statusCode ?? 200, { "content-type": "application/json" });
    // The CLI waits for the headers before it goes on (`docker stats` with no names subscribes
    // to events, then lists): send them now, not with the first event the session may never have.
    res.flushHeaders();
    const workstation = this.workstationId();
    eachLine(upstream, (line) => {
        try {
          const event = JSON.parse(line) as { Type: string; Action: string; Actor: { ID: string; Attributes?: Record<string, string> } };
          if (!this.ownsEvent(event, workstation)) return;
          const shown = this.view.json(event) as typeof event;
          if (!matchesEventFilters(shown, studentFilters)) return;
          res.write(JSON.stringify(shown) + "\n");
        } catch {
          // a line that is not an event is never passed on
        }
      // A client that does not read: the engine's stream is not paused (the engine would stall
      // publishing events for everyone), so the answer is ended once this much waits unread.
      if (res.writableLength > EVENTS_MAX_UNREAD_BYTES) {
        this.log.warn({ unread: res.writableLength }, "events client not reading; stream ended");
        upstream.destroy();
        res.destroy();
      }
    });
    upstream.on("end", () => res.end());
    upstream.on("error", () => res.destroy());
    res.on("close", () => upstream.destroy());
  }

  ownsEvent(event: { Type: string; Action: string; Actor: { ID: string; Attributes?: Record<string, string> }; time?: number; timeNano?: number }, workstation = this.workstationId()): boolean {
    const attributes = event.Actor.Attributes ?? {};
    if (event.Type === "container") return attributes[LABEL_OWNER] === this.scope.sessionId;
    // A check's reader container (created, never started) mounting a volume is not the student's doing.
    if (event.Type === "volume") return event.Actor.ID.startsWith(this.scope.prefix) && !isCheckReaderEvent(event);
    if (event.Type === "network") return (attributes.name ?? "").startsWith(this.scope.prefix) && attributes.container !== workstation;
    return false;
  }

  private async noBody(req: IncomingMessage): Promise<void> {
    const body = await readBody(req, 1024, `${req.method} ${req.url} takes no request body`);
    if (body.length > 0) throw new PolicyError(`${req.method} ${req.url} takes no request body`, 400);
  }

  private async jsonBody(req: IncomingMessage): Promise<Json> {
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    const body = await readBody(req, LIMITS.jsonBodyBytes);
    if (body.length === 0) return {};
    if (type !== "application/json") throw new PolicyError(`send the request body as application/json, not ${type || "no content type"}`, 415);
    const value = parseStrictJson(body.toString("utf8"));
    if (!value || typeof value !== "object" || Array.isArray(value)) throw new PolicyError("the request body must be a JSON object", 400);
    return value as Json;
  }

  /** Passes an engine answer on; JSON answers are rewritten into the student's view. */
  private async relay(res: ServerResponse, upstream: IncomingMessage): Promise<void> {
    const type = upstream.headers["content-type"] ?? "";
    if (type.startsWith("application/json") || (upstream.statusCode ?? 200) >= 400) {
      return this.relayJson(res, upstream);
    }
    return this.relayStream(res, upstream);
  }

  /** Passes a streaming answer on as it comes (errors are still rewritten). */
  private async relayStream(res: ServerResponse, upstream: IncomingMessage): Promise<void> {
    if ((upstream.statusCode ?? 200) >= 400) return this.relayJson(res, upstream);
    res.writeHead(upstream.statusCode ?? 200, pickHeaders(upstream));
    res.flushHeaders();
    upstream.pipe(res);
    res.on("close", () => upstream.destroy());
  }

  private async relayJson(res: ServerResponse, upstream: IncomingMessage, select?: (value: unknown) => unknown): Promise<void> {
    return this.relayJsonText(res, upstream, await readAll(upstream, ANSWER_BYTES), select);
  }

  /** relayJson for an answer already read (inside a quota lock, say). */
  private relayJsonText(res: ServerResponse, upstream: IncomingMessage, body: Buffer, select?: (value: unknown) => unknown): void {
    const text = body.toString("utf8");
    const status = upstream.statusCode ?? 200;
    if (!text) {
      res.writeHead(status, pickHeaders(upstream));
      res.end();
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = status >= 400 ? { message: text.trim() } : undefined;
      if (value === undefined) {
        res.writeHead(status, pickHeaders(upstream));
        res.end(this.view.text(text));
        return;
      }
    }
    if (select && status < 300) value = select(value);
    sendJson(res, status, this.view.json(value), pickHeaders(upstream, ["content-type", "content-length"]));
  }

  /** Streams of JSON lines (stats): each line rewritten. */
  private relayLines(res: ServerResponse, upstream: IncomingMessage): void {
    res.writeHead(upstream.statusCode ?? 200, pickHeaders(upstream, ["content-length"]));
    const rest = eachLine(upstream, (line) => writeOrPause(res, upstream, this.view.text(line + "\n")));
    upstream.on("end", () => res.end(this.view.text(rest())));
    res.on("close", () => upstream.destroy());
  }
}

/** inspect shows `-p` mappings where the CLI looks for them (`docker port`, HostConfig). */
function withPublishedPorts(container: Json): Json {
  const config = container.Config as { Labels?: Record<string, string> } | undefined;
  const ports = parsePorts(config?.Labels?.[LABEL_PORTS]);
  if (ports.length === 0) return container;
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) (bindings[`${p.containerPort}/tcp`] ??= []).push({ HostIp: "", HostPort: String(p.hostPort) });
  const running = (container.State as { Running?: boolean } | undefined)?.Running;
  const network = (container.NetworkSettings ?? {}) as Json;
  const shown = Object.fromEntries(Object.entries(bindings).map(([k, v]) => [k, v.map((b) => ({ HostIp: "0.0.0.0", HostPort: b.HostPort }))]));
  return {
    ...container,
    HostConfig: { ...(container.HostConfig as Json), PortBindings: bindings },
    NetworkSettings: { ...network, Ports: running ? { ...((network.Ports as Json) ?? {}), ...shown } : network.Ports },
  };
}

function splitUrl(url: string, defaultVersion: string): { path: string; query: URLSearchParams; version: string } {
  let parsed: URL;
  try {
    // Origin-form ("/v1.41/...") is read against a fixed origin, so "//x/..." stays a path and
    // never becomes a host; absolute-form ("http://any/v1.41/...") keeps only its path.
    parsed = url.startsWith("/") ? new URL(`http://docker${url}`) : new URL(url);
  } catch {
    throw new PolicyError(`invalid request target ${JSON.stringify(url.slice(0, 100))}`, 400);
  }
  // The CLI sends /v1.45/...; /_ping comes unversioned.
  const { version, path: unversioned } = splitVersionPrefix(parsed.pathname, defaultVersion);
  const path = unversioned.replace(/\/+$/, "") || "/";
  return { path, query: parsed.searchParams, version };
}

const PASSED_HEADERS = ["content-type", "content-length", "api-version", "docker-experimental", "ostype", "server", "x-docker-container-path-stat", "cache-control", "pragma"];

function pickHeaders(upstream: IncomingMessage, drop: string[] = []): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const name of PASSED_HEADERS) if (!drop.includes(name) && upstream.headers[name] !== undefined) out[name] = upstream.headers[name];
  return out;
}

/**
 * Reads a request body of at most `limit` bytes. Past it, the rest is left for the server to
 * discard rather than the connection destroyed, so the refusal reaches the student's CLI.
 */
function readBody(req: IncomingMessage, limit: number, tooLarge = `the request body is larger than ${limit / 1024} KiB: this sandbox keeps what an object carries small (labels, environment, command)`): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off("data", onData);
      req.off("end", onEnd);
      reject(new PolicyError(tooLarge, 413));
      // The rest is read and dropped (up to a bound), so the client gets the refusal, not a reset.
      let dropped = 0;
      req.on("data", (rest: Buffer) => {
        dropped += rest.length;
        if (dropped > DISCARD_BYTES) req.socket.destroy();
      });
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", reject);
  });
}

/**
 * Passes a request body on, failing with `message` past `limit` bytes. The student's request is
 * left unread rather than destroyed, so the refusal still reaches their CLI.
 */
function limitStream(req: IncomingMessage, limit: number, message = `the request body is larger than ${limit} bytes`): NodeJS.ReadableStream {
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > limit) return callback(new PolicyError(message, 413));
      callback(null, chunk);
    },
  });
  return req.pipe(counter);
}

/** Past a body's limit, this much more is read and dropped before the connection is cut. */
const DISCARD_BYTES = 16 * 1024 * 1024;

/** An engine answer read whole into the server (lists, inspects) is at most this big. */
const ANSWER_BYTES = 16 * 1024 * 1024;

/** Writes to the student; while their socket is not draining, stops reading from the engine. */
function writeOrPause(res: ServerResponse, upstream: IncomingMessage, text: string): void {
  if (!res.write(text) && !upstream.isPaused()) {
    upstream.pause();
    res.once("drain", () => upstream.resume());
  }
}

/** Reads the JSON body of an upgrade request (Content-Length bytes from head + socket). */
async function readUpgradeBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<{ json: Json; rest: Buffer }> {
  if (req.headers["transfer-encoding"]) throw new PolicyError("send exec start with a Content-Length body", 400);
  const length = Number(req.headers["content-length"] ?? 0);
  if (!Number.isInteger(length) || length < 0 || length > 4096) throw new PolicyError("exec start body must be at most 4096 bytes", 400);
  let buffer = head;
  while (buffer.length < length) {
    const chunk = await new Promise<Buffer>((resolve, reject) => {
      socket.once("data", resolve);
      socket.once("error", reject);
      socket.once("end", () => reject(new PolicyError("connection closed before the body", 400)));
    });
    buffer = Buffer.concat([buffer, chunk]);
  }
  socket.pause();
  const text = buffer.subarray(0, length).toString("utf8");
  const value = text ? parseStrictJson(text) : {};
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new PolicyError("the request body must be a JSON object", 400);
  return { json: value as Json, rest: buffer.subarray(length) };
}

function writeRawResponse(socket: Duplex, status: number, body: string, type = "application/json"): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status} ${status < 400 ? "OK" : "Error"}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

function matchesEventFilters(event: { Type: string; Action: string; Actor: { ID: string; Attributes?: Record<string, string> } }, filters: Record<string, string[]>): boolean {
  const a = event.Actor.Attributes ?? {};
  const test = (key: string, values: string[] | undefined, actual: string[]) => !values || values.some((v) => actual.includes(v));
  return (
    test("type", filters.type, [event.Type]) &&
    test("event", filters.event, [event.Action, event.Action.split(":")[0]!]) &&
    (!filters.container || (event.Type === "container" && test("container", filters.container.map(withoutSessionPrefix), [event.Actor.ID, a.name ?? ""]))) &&
    (!filters.volume || (event.Type === "volume" && test("volume", filters.volume, [event.Actor.ID]))) &&
    (!filters.network || (event.Type === "network" && test("network", filters.network, [event.Actor.ID, a.name ?? ""]))) &&
    (!filters.label || filters.label.every((l) => {
      const [k, v] = l.split("=", 2) as [string, string?];
      return v === undefined ? k in a : a[k] === v;
    }))
  );
}
