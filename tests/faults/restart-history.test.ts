/**
 * Checks that read the event history still see, after a server restart, what the student did
 * before it. Lesson 01's gone-after-rm passes only when the history holds the first `doomed`
 * being destroyed: the student removes it, the server is killed with -9, and after the restart
 * the student runs a fresh `doomed` and checks. The adopting server reads the history its
 * predecessor saved (sessions/history-file.ts); what the last save missed (here: the file is cut
 * back to before the removal) comes from the engine's own buffer of recent events, replayed
 * since the newest saved event (docker/event-hub.ts `start({ since })`).
 */
import { afterAll, describe, expect, it } from "vitest";
import type { ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { unmountBelow } from "../../sandbox/sessions/bind-view.ts";
import { LABEL_INSTANCE, LABEL_SESSION } from "../../sandbox/naming/scope.ts";
import { engineFrom } from "../../sandbox/docker/engine.ts";
import { HISTORY_FILE } from "../../sandbox/sessions/history-file.ts";
import { runInWorkstation } from "../../sandbox/sessions/workstation-exec.ts";
import { startServerProcess } from "../../tools/sandbox-server.ts";

const docker = engineFrom(process.env.DOCKER_HOST || "unix:///var/run/docker.sock", {
  concurrentStarts: 1,
}).docker;
const instance = `h${randomBytes(4).toString("hex")}`;
const LESSON = "01-containers-are-ephemeral";
const EXERCISE = "writable-layer";
let dataDir = "";
let server: ChildProcess | undefined;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function start(port: number): Promise<ChildProcess> {
  return startServerProcess({
    STOWAGE_PORT: String(port),
    STOWAGE_INSTANCE: instance,
    STOWAGE_DATA_DIR: dataDir,
  });
}

async function kill9(proc: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  proc.kill("SIGKILL");
  await exited;
}

afterAll(async () => {
  if (server && server.exitCode === null && server.signalCode === null) await kill9(server);
  const label = `${LABEL_INSTANCE}=${instance}`;
  for (const c of await docker.listContainers({ all: true, filters: { label: [label] } }))
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  for (const v of (await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? [])
    await docker
      .getVolume(v.Name)
      .remove({ force: true })
      .catch(() => undefined);
  for (const n of await docker.listNetworks({ filters: { label: [label] } }))
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
  await docker
    .getVolume(`stowage-instance-${instance}`)
    .remove()
    .catch(() => undefined);
  if (dataDir) {
    await unmountBelow(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  }
}, 120_000);

interface SavedHistory {
  version: 1;
  lastEventNano: number;
  events: { type: string; action: string; name?: string; time: number }[];
}

describe("a restarted server's checks see what the student did before the restart", () => {
  it("keeps the history across kill -9, and replays from the engine what the last save missed", async () => {
    mkdirSync(join(process.cwd(), ".data"), { recursive: true });
    dataDir = await mkdtemp(join(process.cwd(), ".data", "fault-"));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    server = await start(port);
    let cookie = "";
    const post = async (path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method: "POST",
        headers: {
          ...(cookie ? { cookie } : {}),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      cookie = res.headers.get("set-cookie")?.split(";")[0] ?? cookie;
      return res;
    };
    const { id } = (await (await post("/api/sessions")).json()) as { id: string };
    const workstation = (
      await docker.listContainers({
        all: true,
        filters: { label: [`${LABEL_SESSION}=${id}`, "stowage.role=workstation"] },
      })
    )[0]!.Id;
    const asStudent = async (script: string) => {
      const run = await runInWorkstation(docker, workstation, `${script} && echo done-$((6*7))`, {
        timeoutMs: 60_000,
      });
      expect(run.stdout, run.output).toContain("done-42");
    };
    const goneAfterRm = async () => {
      const res = await post(`/api/sessions/${id}/checks`, { lesson: LESSON, exercise: EXERCISE });
      expect(res.status).toBe(200);
      const { tasks } = (await res.json()) as {
        tasks: { id: string; passed: boolean; message: string }[];
      };
      return tasks.find((t) => t.id === "gone-after-rm")!;
    };
    const historyFile = join(dataDir, "sessions", id, HISTORY_FILE);
    const saved = async () =>
      JSON.parse(await readFile(historyFile, "utf8").catch(() => "{}")) as Partial<SavedHistory>;

    expect(
      (await post(`/api/sessions/${id}/setup`, { lesson: LESSON, exercise: EXERCISE })).status,
    ).toBe(200);
    // A moment later (the cut below keeps the setup's events and drops the removal's).
    await asStudent("sleep 1.5 && docker rm -f doomed >/dev/null");
    // Saved by the server's sweep (every 5 s while the history changes).
    await expect
      .poll(
        async () =>
          (await saved()).events?.some((e) => e.action === "destroy" && e.name === "doomed"),
        { timeout: 20_000, interval: 250 },
      )
      .toBe(true);

    await kill9(server);
    server = await start(port);
    await asStudent("docker run -d --name doomed debian:bookworm-slim sleep infinity >/dev/null");
    const afterRestart = await goneAfterRm();
    expect(afterRestart.message).toMatch(/writable layer went with the old container/);
    expect(afterRestart.passed).toBe(true);

    // Killed again; this time the saved file lost its last seconds (as when the server dies
    // between two saves): cut back to before the first doomed's removal.
    await kill9(server);
    const file = (await saved()) as SavedHistory;
    const removedAt = file.events.find((e) => e.action === "destroy" && e.name === "doomed")!.time;
    const kept = file.events.filter((e) => e.time < removedAt - 1000);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(file.events.length);
    await writeFile(
      historyFile,
      JSON.stringify({ ...file, events: kept, lastEventNano: kept.at(-1)!.time * 1e6 + 999_999 }),
    );
    server = await start(port);
    const replayed = await goneAfterRm();
    expect(replayed.message).toMatch(/writable layer went with the old container/);
    expect(replayed.passed).toBe(true);
  }, 240_000);
});
