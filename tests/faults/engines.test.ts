/**
 * One server, two engines: the shared default one and a private Engine 26 this file starts
 * (scripts/test-engine.sh 26b: own socket, data-root, exec-root, bridge and address pools) and
 * stops. Sessions spread over both; a student on one engine cannot see or touch what a student on
 * the other made; draining sends new sessions elsewhere; killing the private engine (kill -9)
 * touches only its students, who are told and start again on the other engine with their files
 * and progress; a server restart takes every session back on its own engine; /api/health lists
 * both throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import {
  ApiClient,
  removeInstanceObjects,
  restartTestServer,
  startTestServer,
  studentShell,
} from "../../tools/sandbox-server.ts";
import { PROMPT, TerminalClient } from "../../tools/terminal-client.ts";
import { ensureImagesOnEngines } from "../../sandbox/images/build.ts";
import { WORKSTATION_IMAGE } from "../../sandbox/images/catalog.ts";
import { ENGINE_LOST } from "../../sandbox/sessions/session.ts";

const run = promisify(execFile);
const PRIVATE_SOCKET = "/run/stowage-e26b/docker.sock";
const PRIVATE_PID = "/var/lib/stowage-e26b/dockerd.pid";
const TOKEN = "engines-test-token-0123456789";
const privateDocker = new Docker({ socketPath: PRIVATE_SOCKET });

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;

const engineScript = (verb: "start" | "stop") =>
  run("bash", ["scripts/test-engine.sh", "26b", verb], { timeout: 600_000 });

beforeAll(async () => {
  await engineScript("start");
  await ensureImagesOnEngines(
    [
      { name: "default", docker: new Docker() },
      { name: "e26b", docker: privateDocker },
    ],
    { only: [WORKSTATION_IMAGE], progress: null },
  );
  // The server brings an engine's course images up to date when it starts (this one it copies).
  await privateDocker
    .getImage("busybox:latest")
    .remove()
    .catch(() => undefined);
  server = await startTestServer({
    engines: `unix://${PRIVATE_SOCKET}?name=e26b&subnets=10.234.0.0/16`,
    instructorToken: TOKEN,
  });
}, 600_000);

afterAll(async () => {
  const instance = server?.config.instance;
  await server?.close();
  // Started again if a failed test left it killed (its shims and containers would outlive it),
  // then this server's leftovers there removed, then stopped.
  await engineScript("start");
  if (instance) await removeInstanceObjects(privateDocker, instance);
  await engineScript("stop");
}, 120_000);

async function waitFor<T>(probe: () => Promise<T> | T, ok: (v: T) => boolean, ms = 30_000) {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    value = await probe();
  }
  expect(ok(value), JSON.stringify(value)).toBe(true);
  return value;
}

/** The folders of a cgroup path on this host (one per cgroup v1 hierarchy, or the v2 one). */
function cgroupDirs(path: string): string[] {
  const root = "/sys/fs/cgroup";
  const hierarchies = existsSync(join(root, "cgroup.controllers"))
    ? [root]
    : readdirSync(root).map((h) => join(root, h));
  return hierarchies.map((h) => join(h, path)).filter((dir) => existsSync(dir));
}

const engineOf = (id: string) => server.sessions.get(id)?.engine.name;

async function health() {
  return (await new ApiClient(server.url).call("GET", "/api/health")).body as {
    ok: boolean;
    engines: { name: string; state: string; sessions: number; starts: { waiting: number } }[];
  };
}

/** New learners until one lands on `engine` (placement alternates between equal engines). */
async function learnerOn(engine: string): Promise<{ client: ApiClient; id: string }> {
  for (let i = 0; i < 4; i++) {
    const client = new ApiClient(server.url);
    const { status, body } = await client.call("POST", "/api/sessions");
    expect(status, JSON.stringify(body)).toBe(201);
    if (engineOf(body.id) === engine) return { client, id: body.id };
  }
  throw new Error(`no session was placed on ${engine}`);
}

describe("two engines", () => {
  it("get the course images the default engine has, when the server starts", async () => {
    const [here, there] = await Promise.all([
      new Docker().getImage("busybox:latest").inspect(),
      privateDocker.getImage("busybox:latest").inspect(),
    ]);
    expect(there.Id).toBe(here.Id);
  });

  let onPrivate: { client: ApiClient; id: string };
  let onDefault: { client: ApiClient; id: string };

  it("spread new sessions over both, each workstation on its own engine", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push((await new ApiClient(server.url).call("POST", "/api/sessions")).body.id);
    const names = ids.map(engineOf).sort();
    expect(names).toEqual(["default", "default", "e26b", "e26b"]);
    for (const id of ids) {
      const session = server.sessions.get(id)!;
      const privately = await privateDocker
        .getContainer(session.workstationId!)
        .inspect()
        .then(
          () => true,
          () => false,
        );
      expect(privately).toBe(session.engine.name === "e26b");
    }
    const report = await health();
    expect(report.ok).toBe(true);
    expect(report.engines.map((e) => [e.name, e.state, e.sessions])).toEqual([
      ["default", "up", 2],
      ["e26b", "up", 2],
    ]);
    await Promise.all(ids.map((id) => server.sessions.destroy(id, "test done")));
  });

  it("keep a student on one engine away from what a student on the other made", async () => {
    onPrivate = await learnerOn("e26b");
    onDefault = await learnerOn("default");
    const made = await studentShell(
      server,
      onPrivate.id,
      "docker volume create secret-data >/dev/null && docker run -d --name private-web -v secret-data:/data busybox sh -c 'echo s3cret > /data/x; while true; do echo hi | nc -l -p 8080; done' && docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' private-web",
    );
    expect(made.exitCode, made.output).toBe(0);
    const [containerId, address] = made.stdout.trim().split("\n");
    for (const ref of [
      "private-web",
      containerId!,
      containerId!.slice(0, 12),
      `stw-${onPrivate.id}-private-web`,
      `stw-${onPrivate.id}-workstation`,
      server.sessions.get(onPrivate.id)!.workstationId!,
    ]) {
      const r = await studentShell(
        server,
        onDefault.id,
        `docker inspect ${ref}; docker logs ${ref}; docker rm -f ${ref}; docker volume rm secret-data stw-${onPrivate.id}-secret-data`,
      );
      expect(r.output).not.toContain("s3cret");
      expect(r.output).not.toMatch(/"Id": "[0-9a-f]{64}"/);
    }
    const listed = await studentShell(
      server,
      onDefault.id,
      // (The workstation has no nc: bash's /dev/tcp.)
      `docker ps -a --format '{{.Names}}'; docker volume ls -q; docker info --format '{{.Containers}}'; timeout 5 bash -c 'cat </dev/tcp/${address}/8080' || echo unreachable`,
    );
    expect(listed.stdout).not.toContain("private-web");
    expect(listed.stdout).not.toContain("secret-data");
    expect(listed.stdout).not.toMatch(/^hi$/m);
    expect(listed.stdout).toContain("unreachable");
    // The same connection from the owner's own shell does answer (the check above can fail).
    const reached = await studentShell(
      server,
      onPrivate.id,
      `timeout 5 bash -c 'cat </dev/tcp/${address}/8080' || echo unreachable`,
    );
    expect(reached.stdout).toMatch(/^hi$/m);
    // What the student on the private engine made is all still there.
    const still = await studentShell(server, onPrivate.id, "docker exec private-web cat /data/x");
    expect(still.stdout.trim()).toBe("s3cret");
  });

  it("take both engines' sessions back after a server restart, each on its own engine", async () => {
    server = await restartTestServer(server);
    expect(engineOf(onPrivate.id)).toBe("e26b");
    expect(engineOf(onDefault.id)).toBe("default");
    for (const learner of [onPrivate, onDefault]) {
      const again = await learner.client.call("POST", "/api/sessions");
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body.id).toBe(learner.id);
    }
    const still = await studentShell(server, onPrivate.id, "docker exec private-web cat /data/x");
    expect(still.stdout.trim(), still.output).toBe("s3cret");
    const other = await studentShell(server, onDefault.id, "docker ps -q | wc -l");
    expect(other.exitCode, other.output).toBe(0);
  });

  it("send no new session to a draining engine, and keep the sessions it has", async () => {
    const path = "/api/engines/e26b/drain";
    const anyone = new ApiClient(server.url);
    expect((await anyone.call("POST", path, { draining: true })).status).toBe(401);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const drained = await anyone.call("POST", path, { draining: true }, auth);
    expect(drained.status).toBe(200);
    expect(drained.body).toMatchObject({ name: "e26b", state: "draining", sessions: 1 });
    expect((await anyone.call("POST", "/api/engines/nope/drain", {}, auth)).status).toBe(404);
    const fresh: string[] = [];
    for (let i = 0; i < 3; i++)
      fresh.push((await new ApiClient(server.url).call("POST", "/api/sessions")).body.id);
    expect(fresh.map(engineOf)).toEqual(["default", "default", "default"]);
    const kept = await studentShell(server, onPrivate.id, "docker ps --format '{{.Names}}'");
    expect(kept.stdout).toContain("private-web");
    expect((await health()).engines.find((e) => e.name === "e26b")?.state).toBe("draining");
    await Promise.all(fresh.map((id) => server.sessions.destroy(id, "test done")));
    const back = await anyone.call("POST", path, { draining: false }, auth);
    expect(back.body).toMatchObject({ state: "up" });
  });

  it("tell only the killed engine's students, who start again on the other with files and progress", async () => {
    const lesson = "02-named-volumes";
    expect((await onPrivate.client.call("POST", "/api/progress/visits", { lesson })).status).toBe(
      200,
    );
    expect((await studentShell(server, onPrivate.id, "echo my-work > work.txt")).exitCode).toBe(0);
    // Its session cgroup on this host (removed when the engine answers again, below).
    const group = server.sessions.get(onPrivate.id)!.scope.cgroupParent!;
    expect(group).toBeTruthy();
    expect(cgroupDirs(group).length).toBeGreaterThan(0);
    const terminal = await TerminalClient.open(server.url, onPrivate.id, onPrivate.client.cookie);
    try {
      await terminal.waitFor(PROMPT, 20_000);
      const pid = Number((await readFile(PRIVATE_PID, "utf8")).trim());
      process.kill(pid, "SIGKILL");

      await waitFor(health, (h) => h.engines.find((e) => e.name === "e26b")?.state === "down");
      await terminal.waitFor(/stopped answering/, 10_000);
      expect(terminal.controls).toContainEqual({ type: "notice", message: ENGINE_LOST });
    } finally {
      await terminal.close();
    }
    const lost = await onPrivate.client.call("GET", `/api/sessions/${onPrivate.id}`);
    expect(lost.body).toMatchObject({ state: "engine-lost", message: ENGINE_LOST });
    // A terminal opened now (a page reload) is told the same, not "your shell could not start".
    const reopened = await TerminalClient.open(server.url, onPrivate.id, onPrivate.client.cookie);
    const closeCode = await new Promise<number>((resolve) =>
      reopened.ws.readyState === reopened.ws.CLOSED
        ? resolve(-1)
        : reopened.ws.once("close", (code) => resolve(code)),
    );
    expect(closeCode).toBe(4003);
    expect(reopened.controls).toEqual([{ type: "error", message: ENGINE_LOST }]);
    // The student on the other engine is untouched; a newcomer goes there.
    const other = await studentShell(server, onDefault.id, "echo fine && docker ps -q | wc -l");
    expect(other.stdout).toContain("fine");
    const newcomer = (await new ApiClient(server.url).call("POST", "/api/sessions")).body.id;
    expect(engineOf(newcomer)).toBe("default");
    expect((await health()).ok).toBe(true);

    // "Reset my sandbox" with the files kept: a new sandbox on the engine that answers.
    const reset = await onPrivate.client.call("POST", `/api/sessions/${onPrivate.id}/reset`, {
      keepHome: true,
    });
    expect(reset.status, JSON.stringify(reset.body)).toBe(201);
    const again = reset.body.id as string;
    expect(engineOf(again)).toBe("default");
    expect((await studentShell(server, again, "cat work.txt")).stdout.trim()).toBe("my-work");
    const progress = await onPrivate.client.call("GET", "/api/progress");
    expect(JSON.stringify(progress.body)).toContain(lesson);

    // The engine comes back: it takes sessions again, and the ended session's objects go.
    await engineScript("start");
    await waitFor(health, (h) => h.engines.find((e) => e.name === "e26b")?.state === "up");
    const old = onPrivate.id;
    await waitFor(
      () =>
        privateDocker.listContainers({
          all: true,
          filters: { label: [`stowage.session=${old}`] },
        }),
      (list) => list.length === 0,
    );
    // And its cgroup: the session ended while the engine was away.
    await waitFor(
      () => cgroupDirs(group),
      (dirs) => dirs.length === 0,
    );
    await server.sessions.destroy(newcomer, "test done");
  }, 180_000);
});
