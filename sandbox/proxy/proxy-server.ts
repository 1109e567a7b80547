/**
 * The per-session Docker API proxy: a Unix socket mounted into the student's workstation as
 * /var/run/docker.sock. This file holds the socket and its connections: requests are taken in
 * turn, matched against the route table (routes.ts), and handed to their resource's handler
 * (resources/), which resolves the objects named to the session's own, sends the engine a request
 * rebuilt from validated fields and rewrites the answer into the student's names (relay.ts).
 *
 * Browser → server.ts (WebSocket) → terminal → workstation container → docker CLI
 *   → THIS socket → routes.ts → resources/*.ts → engine-http.ts → the Docker engine
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { finished } from "node:stream/promises";
import type { Socket } from "node:net";
import { chmod, rm } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { Engine } from "../docker/engine.ts";
import type { Logger } from "../log.ts";
import type { SessionScope } from "../naming/scope.ts";
import { sendJson } from "../http/router.ts";
import { checkEngineSpeaks, withApiVersion } from "./api-versions.ts";
import { BOUNDS } from "./bounds.ts";
import type { ArchiveAllowance, SessionContext } from "./context.ts";
import { LIMITS } from "./limits.ts";
import { PolicyError } from "./refusal.ts";
import { StudentView } from "./rewrite.ts";
import { matchRoute, splitUrl } from "./routes.ts";
import { ownsEvent, type EngineEvent } from "./resources/system.ts";
import { Mutex, RateBudget, Semaphore } from "./session-budget.ts";
import { OwnedObjects } from "./session-objects.ts";
import { upgrade } from "./upgrade.ts";

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

export class SandboxProxy {
  readonly scope: SessionScope;
  /** What the handlers see of this session (context.ts). */
  private readonly session: SessionContext;
  /** Sockets of upgraded streams, both sides, ended when the proxy closes. */
  private readonly streams = new Set<Duplex>();
  /** Requests being handled: close() waits for them, or one could reach the engine after the session's cleanup listed its objects. */
  private readonly inFlight = new Set<Promise<void>>();
  private closing = false;
  private readonly log: Logger;
  private readonly server: Server;
  /** Requests handled at once across the session's connections (session-budget.ts). */
  private readonly requestSlots = new Semaphore(BOUNDS.requestsInFlight);
  private openStreams = 0;
  /** Pipelined requests of each connection, answered one at a time in order. */
  private readonly pipelines = new WeakMap<Socket, { tail: Promise<void>; waiting: number }>();

  constructor(options: ProxyOptions) {
    this.scope = options.scope;
    this.log = options.log.child({ session: options.scope.sessionId });
    const view = new StudentView(options.scope, options.engineRootDir);
    this.session = {
      scope: options.scope,
      engine: options.engine,
      log: this.log,
      view,
      objects: new OwnedObjects(options.scope, options.engine, view, options.workstationId),
      workstationId: options.workstationId,
      onContainerStarted: options.onContainerStarted ?? (async () => {}),
      onStartQueued: options.onStartQueued,
      closing: () => this.closing,
      quotaLock: new Mutex(),
      archiveLock: new Mutex(),
      execBudget: new RateBudget(BOUNDS.execsPerSecond, BOUNDS.execBurst),
      diskUsageBudget: new RateBudget(BOUNDS.diskUsagePerSecond, BOUNDS.diskUsageBurst),
      execIds: new Set<string>(),
      archiveAllowance: { remaining: () => LIMITS.archiveBodyBytes, charge: () => undefined },
    };
    this.server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 0 }, (req, res) =>
      this.track(this.inTurn(req, res)),
    );
    this.server.on(
      "upgrade",
      (req: IncomingMessage, socket: Duplex, head: Buffer) =>
        void upgrade(this.session, this.streams, req, socket, head),
    );
    this.server.on("clientError", (_err, socket) => socket.destroy());
    // The socket is the student's, but its connections live in the one server process every
    // session shares: bound them (the CLI needs a handful; logs -f and events hold one each).
    this.server.maxConnections = LIMITS.proxyConnections;
    this.server.headersTimeout = 30_000;
  }

  /** What `docker cp` into a container may still bring: the session's disk quota minus use (set by the session manager). */
  get archiveAllowance(): ArchiveAllowance {
    return this.session.archiveAllowance;
  }
  set archiveAllowance(allowance: ArchiveAllowance) {
    this.session.archiveAllowance = allowance;
  }

  /** Whether an engine event is about this session's objects (the session's event history keeps those). */
  ownsEvent(event: EngineEvent, workstation = this.session.workstationId()): boolean {
    return ownsEvent(this.session, event, workstation);
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
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((r) => setTimeout(r, 10_000).unref()),
    ]);
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
      return this.fail(
        res,
        new PolicyError(
          `this sandbox answers at most ${BOUNDS.pipelinedPerConnection} requests queued on one connection; wait for the answers before sending more`,
          429,
        ),
      );
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
      const { path, query, version } = splitUrl(req.url ?? "/", this.session.engine.apiVersion);
      const encoding = req.headers["content-encoding"];
      if (encoding && encoding !== "identity")
        throw new PolicyError(`this sandbox does not accept ${encoding}-encoded bodies`, 415);
      const matched = matchRoute(req.method ?? "GET", path, query);
      await checkEngineSpeaks(this.session.engine, version);
      await withApiVersion(version, async () => {
        if (matched.route.stream) this.reserveStream(res);
        return matched.route.handle!(this.session, {
          req,
          res,
          path,
          params: matched.params,
          query: matched.query,
        });
      });
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

  /**
   * A streaming answer (logs -f, stats, events, wait, export) is work the engine keeps doing
   * (stats reads cgroup files every second): at most BOUNDS.streamsPerSession at once.
   */
  private reserveStream(res: ServerResponse): void {
    if (this.openStreams >= BOUNDS.streamsPerSession) {
      throw new PolicyError(
        `this sandbox keeps at most ${BOUNDS.streamsPerSession} streams (logs -f, stats, events, wait) open at once; end some (Ctrl-C) first`,
        429,
      );
    }
    this.openStreams++;
    res.once("close", () => this.openStreams--);
  }
}
