/**
 * The one server process: the built site, the HTTP API and the WebSockets on one port.
 *
 *   browser ──HTTP──> Router (/api/...) ──> SessionManager ──> engine
 *   browser ──WS────> TerminalSockets ──> TerminalSession ──exec──> workstation (bash)
 *   workstation's docker CLI ──unix socket──> SandboxProxy (proxy/) ──routes.ts, resources/──> engine
 */
import { createServer, type Server } from "node:http";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import sirv from "sirv";
import { loadConfig, type Config } from "./config.ts";
import {
  REMOTE_API_FLOOR,
  askEngineVersion,
  compareApiVersions,
  engineFrom,
  remoteTooOld,
  settleApiVersion,
  type Engine,
} from "./docker/engine.ts";
import { EngineFleet } from "./docker/engine-fleet.ts";
import { EngineAdmission } from "./docker/engine-admission.ts";
import { parseEngineList } from "./naming/engine-addresses.ts";
import { log } from "./log.ts";
import { Router, sendJson } from "./http/router.ts";
import { putServerBeforeEngine } from "./proxy/oom-order.ts";
import { SessionManager } from "./sessions/session-manager.ts";
import { registerSessionRoutes } from "./api/session-routes.ts";
import { TerminalSockets, workstationGone } from "./api/terminal-socket.ts";
import { registerCheckRoutes } from "./api/check-routes.ts";
import { registerWorkspaceRoutes } from "./api/workspace-routes.ts";
import { registerEngineRoutes } from "./api/engine-routes.ts";
import { registerProgressRoutes } from "./progress/routes.ts";
import { openPlatformStore } from "./progress/open-store.ts";
import { sessionOwners } from "./progress/session-owners.ts";
import { DatabaseUnavailableError, PlatformDatabaseError } from "./progress/database.ts";
import { openClassStore } from "./classes/class-store.ts";
import { ClassPools } from "./classes/class-pool.ts";
import { classAdmission, registerClassRoutes } from "./classes/class-routes.ts";
import { WatchSockets } from "./classes/watch-socket.ts";
import { allowedOrigins, changesState, originAllowed } from "./http/origin.ts";
import {
  assertPortFree,
  claimInstance,
  InstanceInUseError,
  type InstanceClaim,
} from "./sessions/instance-claim.ts";

export interface RunningServer {
  url: string;
  port: number;
  server: Server;
  sessions: SessionManager;
  /** The classes' warm pools (classes/class-pool.ts). */
  pools: ClassPools;
  /** The default engine (DOCKER_HOST's); a session's own is `session.engine`. */
  engine: Engine;
  /** Every engine, the default first (docker/engine-fleet.ts). */
  engines: EngineFleet;
  config: Config;
  /** This server's hold on its port's neighbours: the data folder and the instance name (sessions/instance-claim.ts). */
  claim: InstanceClaim;
  /**
   * Stops the server. Its sessions end, unless `keepSessions` (a restart: the next start with
   * the same instance and data folder adopts them; docs/decisions/restarts-keep-sandboxes.md).
   */
  close(options?: { keepSessions?: boolean }): Promise<void>;
}

export async function startServer(overrides: Partial<Config> = {}): Promise<RunningServer> {
  const config = loadConfig(process.env, overrides);
  // Should the host run out of memory, the kernel takes a student's process, then this server, the engine last.
  await putServerBeforeEngine();
  const addresses = parseEngineList(config);
  // The engines of this host share its cores, so their container starts share one admission
  // (STOWAGE_ENGINE_STARTS for the host, not per engine).
  const localStarts = new EngineAdmission(config.engineStarts);
  const engines = addresses.map((address) =>
    engineFrom(address, {
      concurrentStarts: config.engineStarts,
      starts: address.protocol === "unix" ? localStarts : undefined,
    }),
  );
  const engine = engines[0]!;
  const fleet = new EngineFleet(
    engines,
    log,
    addresses.filter((a) => a.drain).map((a) => a.name),
  );
  // The API version each engine is spoken to in, before any call: an engine that dropped 1.41
  // (Engine 29) is spoken to in its oldest; one this server cannot speak to stops the start
  // (the default engine) or is refused at its probes (another).
  await settleApiVersion(engine);
  for (const other of engines.slice(1))
    await settleApiVersion(other).catch((error: unknown) =>
      log.error({ engine: other.name, err: (error as Error).message }, "engine refused"),
    );
  // A remote engine that answers but is older than API 1.45 stops the start: its sessions'
  // homes could not be bound (one down now is refused at its probes once it answers).
  for (const remoteEngine of engines.filter((e) => e.remote)) {
    const answer = await askEngineVersion(remoteEngine);
    if (answer?.ApiVersion && compareApiVersions(answer.ApiVersion, REMOTE_API_FLOOR) < 0)
      throw new Error(
        `invalid configuration: STOWAGE_ENGINES (engines): ${remoteEngine.address.address} (${remoteEngine.name}): ${remoteTooOld(remoteEngine, answer)}`,
      );
  }
  // Before the leftover cleanup in sessions.start(): never another live server's objects.
  await assertPortFree(config.host, config.port);
  await mkdir(config.dataDir, { recursive: true });
  const claim = await claimInstance({
    docker: engine.docker,
    dataDir: config.dataDir,
    instance: config.instance,
    port: config.port,
    log,
  });
  // The platform database first: a wrong STOWAGE_DATABASE_URL stops the start before any session.
  const progress = await openPlatformStore(config, log).catch(async (error: unknown) => {
    await claim.release();
    throw error;
  });
  const owners = sessionOwners(progress.database);
  const sessions = new SessionManager({
    engine,
    fleet,
    config,
    log,
    owners: {
      record: (session, learnerId) => owners.record(config.instance, session, learnerId),
      forget: (session) => owners.forget(session),
    },
  });
  try {
    // The owners recorded by a previous run go; the sessions adopted again record theirs anew.
    await owners.forgetInstance(config.instance);
    await sessions.start();
  } catch (error) {
    await progress.close();
    await claim.release();
    throw error;
  }

  const router = new Router({ secureCookies: config.publicOrigin?.startsWith("https:") ?? false });
  const classes = openClassStore(progress.database);
  const pools = new ClassPools(sessions, classes, engine, log, config.classWarmLeadSeconds);
  registerSessionRoutes(router, sessions, config, classAdmission({ classes, pools }));
  registerProgressRoutes(router, progress, { instructorToken: () => config.instructorToken });
  registerCheckRoutes(router, sessions, engine, config.lessonsDir, progress);
  registerWorkspaceRoutes(router, sessions, config.lessonsDir);
  registerEngineRoutes(router, sessions, () => config.instructorToken);

  const site = existsSync(config.siteDir)
    ? sirv(config.siteDir, { etag: true, extensions: ["html"] })
    : undefined;
  // Set once the port is known (a port of 0 is chosen at listen time).
  let origins = new Set<string>();
  const server = createServer(async (req, res) => {
    try {
      if (
        req.url?.startsWith("/api/") &&
        changesState(req.method) &&
        !originAllowed(req, origins)
      ) {
        return sendJson(res, 403, {
          error: `refused: this request came from a page at ${req.headers.origin}, and this server takes changes only from its own pages (${[...origins][0] ?? "its public origin"}); an instructor serving the class under another address sets STOWAGE_PUBLIC_ORIGIN`,
        });
      }
      if (await router.handle(req, res)) return;
      if (req.url?.startsWith("/api/"))
        return sendJson(res, 404, { error: `no API at ${req.url}` });
      if (site) {
        site(req, res, () => {
          res.statusCode = 404;
          const notFound = join(config.siteDir, "404.html");
          if (existsSync(notFound))
            return sirv(config.siteDir)(Object.assign(req, { url: "/404.html" }), res);
          res.end("Not found");
        });
        return;
      }
      res
        .writeHead(503, { "content-type": "text/plain" })
        .end("The site is not built yet: run `npm run build`.");
    } catch (error) {
      // The session's workstation is gone (files, checks, setup exec into it): rebuild it, home kept.
      const sessionId = /^\/api\/sessions\/([a-f0-9]{12})\//.exec(req.url ?? "")?.[1];
      if (sessionId && workstationGone(error) && sessions.get(sessionId)) {
        void sessions
          .recover(sessionId)
          .catch((err: Error) =>
            log.error(
              { session: sessionId, err: err.message },
              "rebuilding a vanished workstation failed",
            ),
          );
        if (!res.headersSent)
          return sendJson(res, 503, {
            error:
              "your sandbox's workstation was gone; a new one is starting with your files kept: try again in a few seconds",
            retryAfterSeconds: 5,
          });
      }
      // An outage of the database is the operator's to see once per request, without a stack.
      if (error instanceof DatabaseUnavailableError)
        log.warn({ err: error.message, url: req.url }, "request failed: database unavailable");
      else log.error({ err: error, url: req.url }, "request failed");
      if (!res.headersSent && error instanceof DatabaseUnavailableError)
        sendJson(res.setHeader("retry-after", "30"), 503, {
          error:
            "the server's database is not answering, so your progress could not be read or saved just now; try again in a minute (what was saved before is kept)",
          retryAfterSeconds: 30,
        });
      else if (!res.headersSent && isDiskFull(error))
        sendJson(res, 507, {
          error:
            "the server's disk is full, so this could not be saved; try again later (what was saved before is kept)",
        });
      else if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.destroy();
    }
  });

  const terminals = new TerminalSockets(sessions, () => origins);
  const watch = new WatchSockets(sessions, () => origins);
  registerClassRoutes(router, {
    classes,
    pools,
    progress,
    sessions,
    engine,
    watch,
    instructorToken: () => config.instructorToken,
    maxSessions: config.maxSessions,
    links: { publicOrigin: config.publicOrigin, trustProxy: config.trustProxy },
  });
  pools.start();
  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    if (!terminals.handleUpgrade(req, socket, head) && !watch.handleUpgrade(req, socket, head))
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
  });

  await new Promise<void>((resolve, reject) =>
    server.once("error", reject).listen(config.port, config.host, () => resolve()),
  ).catch(async (error: NodeJS.ErrnoException) => {
    // Taken between the probe and now: this server's own sessions go, the claim is let go.
    terminals.close();
    watch.close();
    await pools.stop();
    await sessions.stop();
    await progress.close();
    await claim.release();
    throw error.code === "EADDRINUSE"
      ? new InstanceInUseError(`port ${config.port} on ${config.host} is already in use`)
      : error;
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  origins = allowedOrigins(config, port);
  const url = `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${port}`;

  return {
    url,
    port,
    server,
    sessions,
    engine,
    engines: fleet,
    config,
    pools,
    claim,
    async close(options: { keepSessions?: boolean } = {}) {
      terminals.close({ restarting: options.keepSessions });
      watch.close();
      await pools.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sessions.stop(options);
      await progress.close();
      await claim.release();
    },
  };
}

/** A write that failed for want of space: the filesystem's ENOSPC, or SQLite's "database or disk is full". */
function isDiskFull(error: unknown): boolean {
  const e = error as { code?: string; errcode?: number; message?: string };
  return (
    e?.code === "ENOSPC" ||
    e?.errcode === 13 ||
    /disk is full|no space left/i.test(e?.message ?? "")
  );
}

if (import.meta.main) {
  const running = await startServer().catch((error: unknown) => {
    // A refusal (port, data folder or instance in use) or a bad setting: one line, no stack.
    if (!(
      error instanceof InstanceInUseError ||
      error instanceof PlatformDatabaseError ||
      /^invalid configuration: /.test((error as Error).message)
    ))
      throw error;
    process.stderr.write(`stowage: ${(error as Error).message}\n`);
    process.exit(1);
  });
  log.info(`Stowage is at ${running.url.replace("127.0.0.1", "localhost")}`);
  process.stderr.write(`\n  Stowage is running at http://localhost:${running.port}\n\n`);
  // A restart keeps every sandbox for the next start to adopt (deploying during a class:
  // docs/classes.md); STOWAGE_STOP_ENDS_SESSIONS=true ends them instead.
  const stop = async () => {
    await running.close({ keepSessions: !running.config.stopEndsSessions });
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}
