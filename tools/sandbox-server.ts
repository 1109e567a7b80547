import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { startServer, type RunningServer } from "../sandbox/server.ts";
import { unmountBelow } from "../sandbox/sessions/bind-view.ts";
import { LABEL_LOCK } from "../sandbox/sessions/instance-claim.ts";
import { LOCAL_CGROUP_FILES, removeInstanceCgroups } from "../sandbox/sessions/session-cgroup.ts";
import { runInWorkstation, type ExecResult } from "../sandbox/sessions/workstation-exec.ts";
import type Docker from "dockerode";
import type { Config } from "../sandbox/config.ts";
import { LABEL_INSTANCE, LABEL_SESSION } from "../sandbox/naming/scope.ts";

/** A real server on a free port, its own data folder and instance label, against the real engine. */
export async function startTestServer(
  overrides: Partial<Config> = {},
): Promise<RunningServer & { dataDir: string }> {
  await mkdir(join(process.cwd(), ".data"), { recursive: true });
  const dataDir = await mkdtemp(join(process.cwd(), ".data", "test-"));
  const server = await startServer({
    port: 0,
    dataDir,
    instance: `t${randomBytes(4).toString("hex")}`,
    createPerMinute: 1000,
    poolSize: 0,
    ...overrides,
  });
  return removingDataDir(server, dataDir);
}

/** close() ends the sessions and removes the data folder; close({ keepSessions }) keeps both (a restart). */
function removingDataDir(
  server: RunningServer,
  dataDir: string,
): RunningServer & { dataDir: string } {
  const closeServer = server.close.bind(server);
  return Object.assign(server, {
    dataDir,
    close: async (options: { keepSessions?: boolean } = {}) => {
      await closeServer(options);
      if (options.keepSessions) return;
      await unmountBelow(dataDir); // sessions' bind views, were any left by a failed close
      await rm(dataDir, { recursive: true, force: true });
    },
  });
}

/**
 * The server restarts as an operator's deploy does: stopped keeping its sessions, then started
 * again with the same port, instance and data folder (and the other settings it had).
 */
export async function restartTestServer(
  server: RunningServer & { dataDir: string },
): Promise<RunningServer & { dataDir: string }> {
  await server.close({ keepSessions: true });
  const restarted = await startServer({ ...server.config, port: server.port });
  return removingDataDir(restarted, server.dataDir);
}

/** A browser-like API client with its own learner cookie. */
export class ApiClient {
  cookie = "";
  readonly base: string;
  constructor(base: string) {
    this.base = base;
  }
  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const res = await fetch(this.base + path, {
      method,
      headers: {
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const setCookie = res.headers.get("set-cookie");
    if (setCookie) this.cookie = setCookie.split(";")[0]!;
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }
}

/** Runs a script in a session's workstation as the student (the student's own docker CLI). */
export function studentShell(
  server: RunningServer,
  sessionId: string,
  script: string,
  timeoutMs = 30_000,
): Promise<ExecResult> {
  const session = server.sessions.get(sessionId);
  if (!session?.workstationId) throw new Error(`no session ${sessionId}`);
  return runInWorkstation(session.engine.docker, session.workstationId, script, { timeoutMs });
}

/** How many containers, volumes and networks on the engine carry the session's label. */
export async function countSessionObjects(
  server: RunningServer,
  sessionId: string,
): Promise<{ containers: number; volumes: number; networks: number }> {
  const docker = server.engine.docker;
  const filters = { label: [`${LABEL_SESSION}=${sessionId}`] };
  const [containers, volumes, networks] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listVolumes({ filters }),
    docker.listNetworks({ filters }),
  ]);
  return {
    containers: containers.length,
    volumes: volumes.Volumes?.length ?? 0,
    networks: networks.length,
  };
}

/**
 * `node sandbox/server.ts` as a child process, as an operator runs it (for tests that kill it,
 * SIGTERM it or start it again), with `env` over the test defaults; resolves once it says it runs.
 * `onLog` gets its log (stderr) from the start on.
 */
export async function startServerProcess(
  env: Record<string, string>,
  options: { onLog?: (chunk: Buffer) => void } = {},
): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ["sandbox/server.ts"], {
    env: { ...process.env, STOWAGE_POOL_SIZE: "0", STOWAGE_CREATE_PER_MINUTE: "100", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  if (options.onLog) proc.stderr!.on("data", options.onLog);
  let err = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 60_000);
    proc.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      if (err.includes("Stowage is running")) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on("exit", (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
  return proc;
}

/**
 * A test's teardown on one engine: every container (with its anonymous volumes), volume and
 * network labelled with the server instance, and the instance's claim marker volume
 * (sessions/instance-claim.ts; a server killed with -9 leaves it). Objects already gone are fine.
 * Returns how many it found.
 */
export async function removeInstanceObjects(docker: Docker, instance: string): Promise<number> {
  const gone = (error: { statusCode?: number }) => {
    if (error.statusCode !== 404) throw error;
  };
  const filters = { label: [`${LABEL_INSTANCE}=${instance}`] };
  const containers = await docker.listContainers({ all: true, filters });
  for (const c of containers)
    await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(gone);
  const marker = { label: [`${LABEL_LOCK}=${instance}`] };
  const volumes = [
    ...((await docker.listVolumes({ filters })).Volumes ?? []),
    ...((await docker.listVolumes({ filters: marker })).Volumes ?? []),
  ];
  for (const v of volumes) await docker.getVolume(v.Name).remove({ force: true }).catch(gone);
  const networks = await docker.listNetworks({ filters });
  for (const n of networks) await docker.getNetwork(n.Id).remove().catch(gone);
  return containers.length + volumes.length + networks.length;
}

/**
 * removeInstanceObjects until a round finds nothing (at most a minute): an engine that was
 * frozen serves, after it thaws, requests the server sent meanwhile (a check container may
 * appear after a first removal).
 */
export async function removeInstanceObjectsUntilGone(
  docker: Docker,
  instance: string,
): Promise<void> {
  for (let round = 0; round < 30; round++) {
    if ((await removeInstanceObjects(docker, instance).catch(() => 1)) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/**
 * A test's teardown on this host: the session cgroups an instance left here (its sessions kept
 * at a stop, or a group still busy when its session ended), and the instance's own group. Their
 * containers must be gone first (removeInstanceObjects on every engine of this host).
 */
export async function removeInstanceCgroupsHere(instance: string): Promise<void> {
  const root = "/sys/fs/cgroup";
  const version = existsSync(join(root, "cgroup.controllers")) ? 2 : 1;
  await removeInstanceCgroups({ version, root, files: LOCAL_CGROUP_FILES }, instance);
}
