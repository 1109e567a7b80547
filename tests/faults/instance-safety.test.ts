/**
 * A second server started beside a live one (a second `npm start`, `npm run dev`, the CLI) never
 * removes the first one's objects: with the same port, the same data folder or the same instance
 * name on the engine it refuses in one line, before any cleanup; with its own port, instance and
 * data folder it runs beside it. The first server's session stays intact throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { runInWorkstation } from "../../sandbox/sessions/workstation-exec.ts";
import { unmountBelow } from "../../sandbox/sessions/bind-view.ts";
import { engineFrom } from "../../sandbox/docker/engine.ts";

// The engine the tests run on (DOCKER_HOST, as the server under test reads it).
const docker = engineFrom(process.env.DOCKER_HOST || "unix:///var/run/docker.sock", {
  concurrentStarts: 1,
}).docker;
const instance = `i${randomBytes(4).toString("hex")}`;
const dataDirs: string[] = [];
const children: ChildProcess[] = [];
let port = 0;
let base = "";
let cookie = "";
let sessionId = "";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function newDataDir(): Promise<string> {
  mkdirSync(join(process.cwd(), ".data"), { recursive: true });
  const dir = await mkdtemp(join(process.cwd(), ".data", "twice-"));
  dataDirs.push(dir);
  return dir;
}

/** Runs a command to its end (or until `ready` shows in its stderr): exit code and stderr. */
function run(
  args: string[],
  env: Record<string, string>,
  ready?: string,
  command = process.execPath,
): Promise<{ code: number | null; stderr: string; child: ChildProcess }> {
  const child = spawn(command, args, {
    // SIGTERM at the end ends the sessions (by default a stop keeps them for the next start).
    env: {
      ...process.env,
      STOWAGE_POOL_SIZE: "0",
      STOWAGE_LOG_LEVEL: "warn",
      STOWAGE_STOP_ENDS_SESSIONS: "true",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stderr = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args.join(" ")} neither ended nor got ready: ${stderr}`)),
      120_000,
    );
    const onOutput = (d: Buffer) => {
      stderr += d.toString();
      if (ready && stderr.includes(ready)) {
        clearTimeout(timer);
        resolve({ code: null, stderr, child });
      }
    };
    child.stderr!.on("data", onOutput);
    child.stdout!.on("data", onOutput);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, child });
    });
  });
}

const byInstance = { label: [`stowage.instance=${instance}`] };
async function firstServerIntact(): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: byInstance });
  expect(containers.map((c) => c.State).sort()).toEqual(["running", "running", "running"]); // workstation, check container, web
  expect(((await docker.listVolumes({ filters: byInstance })).Volumes ?? []).length).toBe(1);
  const session = await fetch(`${base}/api/sessions/${sessionId}`, { headers: { cookie } });
  expect(session.status).toBe(200);
  const [workstation] = await docker.listContainers({
    filters: { label: [`stowage.session=${sessionId}`, "stowage.role=workstation"] },
  });
  const r = await runInWorkstation(
    docker,
    workstation!.Id,
    "cat ~/notes && docker ps --format '{{.Names}}'",
    { timeoutMs: 30_000 },
  );
  expect(r.stdout.split("\n")).toEqual(["mine", "web", ""]);
}

/** One line on stderr, naming why, and no stack trace. */
function expectOneLineRefusal(stderr: string, why: RegExp): void {
  const lines = stderr
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("stowage: "));
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(why);
  expect(lines[0]).toMatch(/removed nothing/);
  expect(stderr).not.toMatch(/\n\s+at /);
}

let firstDataDir = "";
beforeAll(async () => {
  firstDataDir = await newDataDir();
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  await run(
    ["sandbox/server.ts"],
    { STOWAGE_PORT: String(port), STOWAGE_INSTANCE: instance, STOWAGE_DATA_DIR: firstDataDir },
    "Stowage is running",
  );
  const created = await fetch(`${base}/api/sessions`, { method: "POST" });
  cookie = created.headers.get("set-cookie")!.split(";")[0]!;
  sessionId = ((await created.json()) as { id: string }).id;
  const [workstation] = await docker.listContainers({
    filters: { label: [`stowage.session=${sessionId}`, "stowage.role=workstation"] },
  });
  const r = await runInWorkstation(
    docker,
    workstation!.Id,
    "echo mine > ~/notes && docker volume create kept >/dev/null && docker run -d --name web -v kept:/d busybox sleep 600 >/dev/null && echo ok",
    { timeoutMs: 30_000 },
  );
  expect(r.stdout.trim(), r.output).toBe("ok");
  await firstServerIntact();
}, 150_000);

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  await Promise.all(
    children.map((c) =>
      c.exitCode === null && c.signalCode === null
        ? new Promise((r) => c.once("exit", r))
        : undefined,
    ),
  );
  for (const dir of dataDirs) {
    await unmountBelow(dir);
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);

describe("a second server beside a live one", () => {
  it("the same port: refused in one line, the first server's session intact", async () => {
    const second = await run(["sandbox/server.ts"], {
      STOWAGE_PORT: String(port),
      STOWAGE_INSTANCE: instance,
      STOWAGE_DATA_DIR: firstDataDir,
    });
    expect(second.code).toBe(1);
    expectOneLineRefusal(second.stderr, new RegExp(`port ${port} .* already in use`));
    await firstServerIntact();
  }, 60_000);

  it("the same data folder on another port: refused, the session folders kept", async () => {
    const second = await run(["sandbox/server.ts"], {
      STOWAGE_PORT: String(await freePort()),
      STOWAGE_INSTANCE: `o${randomBytes(4).toString("hex")}`,
      STOWAGE_DATA_DIR: firstDataDir,
    });
    expect(second.code).toBe(1);
    expectOneLineRefusal(
      second.stderr,
      /the data folder .* is in use by a running Stowage server \(pid \d+, port \d+/,
    );
    expect(await readdir(join(firstDataDir, "sessions"))).toContain(sessionId);
    await firstServerIntact();
  }, 60_000);

  it("the same instance name with its own port and data folder: refused (the engine's claim)", async () => {
    const second = await run(["sandbox/server.ts"], {
      STOWAGE_PORT: String(await freePort()),
      STOWAGE_INSTANCE: instance,
      STOWAGE_DATA_DIR: await newDataDir(),
    });
    expect(second.code).toBe(1);
    expectOneLineRefusal(
      second.stderr,
      new RegExp(`the instance name "${instance}" is in use on this Docker engine`),
    );
    await firstServerIntact();
  }, 60_000);

  it("npm run dev's path (scripts/stowage.sh dev → bin/stowage.js) on the live server's port: refused, nothing removed", async () => {
    const dev = await run(
      ["scripts/stowage.sh", "dev"],
      { STOWAGE_PORT: String(port), STOWAGE_INSTANCE: instance, STOWAGE_DATA_DIR: firstDataDir },
      undefined,
      "bash",
    );
    expect(dev.code).toBe(1);
    expect(dev.stderr).toMatch(
      new RegExp(`stowage: port ${port} .* already in use.*removed nothing`),
    );
    expect(dev.stderr).not.toMatch(/\n\s+at /);
    await firstServerIntact();
  }, 150_000);

  it("npm start (scripts/start.sh) on the live server's port: refused before it rebuilds the site that server serves", async () => {
    const start = await run(
      ["scripts/start.sh"],
      { STOWAGE_PORT: String(port), STOWAGE_INSTANCE: instance, STOWAGE_DATA_DIR: firstDataDir },
      undefined,
      "bash",
    );
    expect(start.code).toBe(1);
    expectOneLineRefusal(start.stderr, new RegExp(`port ${port} .* already in use`));
    expect(start.stderr).not.toContain("Building the site");
    await firstServerIntact();
  }, 150_000);

  it("npm run dev with its own port runs beside the live server (its own instance and data folder by default)", async () => {
    const devPort = await freePort();
    // A random instance (the engine is shared with other test runs); the data folder is dev's default.
    const devInstance = `d${randomBytes(4).toString("hex")}`;
    const dev = await run(
      ["bin/stowage.js", "dev"],
      { STOWAGE_PORT: String(devPort), STOWAGE_DATA_DIR: "", STOWAGE_INSTANCE: devInstance },
      "Stowage is running",
    );
    expect(dev.stderr).toContain(
      `sandbox instance ${devInstance}, data in ${join(process.cwd(), ".data-dev")}`,
    );
    const health = await fetch(`http://127.0.0.1:${devPort}/api/health`);
    expect(health.status).toBe(200);
    await firstServerIntact();
    dev.child.kill("SIGTERM");
    await new Promise((r) => dev.child.once("exit", r));
    await firstServerIntact();
  }, 150_000);
});
