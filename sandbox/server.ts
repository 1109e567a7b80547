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
import { engineFrom, type Engine } from "./docker/engine.ts";
import { log } from "./log.ts";
import { Router, sendJson } from "./http/router.ts";
import { putServerBeforeEngine } from "./proxy/oom-order.ts";
import { SessionManager } from "./sessions/session-manager.ts";
import { registerSessionRoutes } from "./api/session-routes.ts";
import { TerminalSockets, workstationGone } from "./api/terminal-socket.ts";
import { registerCheckRoutes } from "./api/check-routes.ts";
import { registerWorkspaceRoutes } from "./api/workspace-routes.ts";
import { registerProgressRoutes } from "./progress/routes.ts";
import { openProgressStore } from "./progress/store.ts";
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
  engine: Engine;
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
  const engine = engineFrom(config.dockerHost, { concurrentStarts: config.engineStarts });
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
  const sessions = new SessionManager({ engine, config, log });
  try {
    await sessions.start();
  } catch (error) {
    await claim.release();
    throw error;
  }

  const router = new Router({ secureCookies: config.publicOrigin?.startsWith("https:") ?? false });
  const progress = openProgressStore(join(config.dataDir, "progress.sqlite"));
  const classes = openClassStore(progress.database);
  const pools = new ClassPools(sessions, classes, engine, log, config.classWarmLeadSeconds);
  registerSessionRoutes(router, sessions, engine, config, classAdmission({ classes, pools }));
  registerProgressRoutes(router, progress, { instructorToken: () => config.instructorToken });
  registerCheckRoutes(router, sessions, engine, config.lessonsDir, progress);
  registerWorkspaceRoutes(router, sessions, config.lessonsDir);

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
      log.error({ err: error, url: req.url }, "request failed");
      if (!res.headersSent && isDiskFull(error))
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
    progress.close();
    await sessions.stop();
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
    config,
    pools,
    claim,
    async close(options: { keepSessions?: boolean } = {}) {
      terminals.close({ restarting: options.keepSessions });
      watch.close();
      await pools.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      progress.close();
      await sessions.stop(options);
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
