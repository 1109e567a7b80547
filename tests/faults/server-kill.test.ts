/**
 * The server process dies (kill -9) with live sessions; started again, it removes everything the
 * dead run left (containers, volumes, networks, workspace folders) and the progress file is intact.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { runInWorkstation } from "../../sandbox/sessions/workstation-exec.ts";
import { unmountBelow } from "../../sandbox/sessions/bind-view.ts";
import { LABEL_INSTANCE, LABEL_ROLE, LABEL_SESSION } from "../../sandbox/naming/scope.ts";
import { engineFrom } from "../../sandbox/docker/engine.ts";

// The engine the tests run on (DOCKER_HOST, as the server under test reads it).
const docker = engineFrom(process.env.DOCKER_HOST || "unix:///var/run/docker.sock", {
  concurrentStarts: 1,
}).docker;
const instance = `f${randomBytes(4).toString("hex")}`;
let dataDir = "";
let child: ChildProcess | undefined;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function startChild(port: number): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ["sandbox/server.ts"], {
    env: {
      ...process.env,
      STOWAGE_PORT: String(port),
      STOWAGE_INSTANCE: instance,
      STOWAGE_DATA_DIR: dataDir,
      STOWAGE_POOL_SIZE: "0",
      STOWAGE_CREATE_PER_MINUTE: "100",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
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

const byInstance = { label: [`${LABEL_INSTANCE}=${instance}`] };
const leftovers = async () => ({
  containers: (await docker.listContainers({ all: true, filters: byInstance })).length,
  volumes: ((await docker.listVolumes({ filters: byInstance })).Volumes ?? []).length,
  networks: (await docker.listNetworks({ filters: byInstance })).length,
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    child.kill("SIGTERM");
    await exited; // the server has ended its sessions and unmounted what it could
  }
  if (dataDir) await unmountBelow(dataDir);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("kill -9 of the server with live sessions", () => {
  it("leaves nothing behind once started again, and progress survives", async () => {
    mkdirSync(join(process.cwd(), ".data"), { recursive: true });
    dataDir = await mkdtemp(join(process.cwd(), ".data", "fault-"));
    const port = await freePort();
    child = await startChild(port);
    const base = `http://127.0.0.1:${port}`;
    const created = await fetch(`${base}/api/sessions`, { method: "POST" });
    const cookie = created.headers.get("set-cookie")!.split(";")[0]!;
    const { id } = (await created.json()) as { id: string };
    const [workstation] = await docker.listContainers({
      filters: { label: [`${LABEL_SESSION}=${id}`, `${LABEL_ROLE}=workstation`] },
    });
    const r = await runInWorkstation(
      docker,
      workstation!.Id,
      "docker volume create kept >/dev/null && docker network create net1 >/dev/null && docker run -d --name web -v kept:/d --network net1 busybox sleep 600 >/dev/null && echo hi > ~/notes && echo ok",
      { timeoutMs: 30_000 },
    );
    expect(r.stdout.trim(), r.output).toBe("ok");
    // Progress to lose: a quiz answer and a visit, recorded by the server that is about to die.
    const post = (path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: "POST",
        headers: { cookie, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect(
      (
        await post("/api/progress/quizzes", {
          lesson: "02-named-volumes",
          quiz: "q1",
          answer: 1,
          correct: true,
        })
      ).status,
    ).toBe(200);
    expect((await post("/api/progress/visits", { lesson: "02-named-volumes" })).status).toBe(200);
    const progressBefore = await (
      await fetch(`${base}/api/progress`, { headers: { cookie } })
    ).text();
    expect(JSON.parse(progressBefore)).toMatchObject({
      lastLesson: "02-named-volumes",
      lessons: { "02-named-volumes": { quizzes: { q1: { answer: 1, correct: true } } } },
    });
    const before = await leftovers();
    expect(before.containers).toBe(3); // workstation, check container, the student's
    expect(before.volumes).toBe(1);

    child.kill("SIGKILL");
    await new Promise((resolve) => child!.once("exit", resolve));
    // Dead: its objects are still on the engine, its folder still on disk.
    expect((await leftovers()).containers).toBe(3);
    expect(await readdir(join(dataDir, "sessions"))).toContain(id);

    child = await startChild(port);
    expect(await leftovers()).toEqual({ containers: 0, volumes: 0, networks: 0 });
    expect(await readdir(join(dataDir, "sessions"))).toEqual([]);
    expect((await stat(join(dataDir, "progress.sqlite"))).size).toBeGreaterThan(0);
    const progressAfter = await (
      await fetch(`${base}/api/progress`, { headers: { cookie } })
    ).text();
    expect(progressAfter).toBe(progressBefore);
    const health = await fetch(`${base}/api/health`);
    expect(health.status).toBe(200);
  }, 150_000);
});
