/**
 * TypeScript checks on the real engine through the real sandbox: the check API in the student's
 * names, the event history (write with one container, remove it, read with another), the exercise
 * test over a lesson mixing .sh and .ts checks, and checks that throw, time out or change on disk.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile, cp, utimes } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createHash } from "node:crypto";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";
import { formatExerciseTest, testExercise } from "../../sandbox/checks/exercise-test.ts";
import { runExerciseChecks } from "../../sandbox/checks/shell-checks.ts";
import { createCheckSession } from "../../sandbox/checks/check-session.ts";
import { CHECK_CONTAINER_PREFIX } from "../../sandbox/naming/scope.ts";

const lessonsDir = resolve("tests/checks/fixtures/lessons");
type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;

beforeAll(async () => {
  server = await startTestServer({ lessonsDir });
});
afterAll(async () => {
  await server?.close();
});

describe("exercise test with TypeScript checks", () => {
  it("row-survives: every check fails before the solution and passes after, the history check included", async () => {
    const result = await testExercise(server.sessions, lessonsDir, "01-check-api", "row-survives");
    expect(result.ok, formatExerciseTest(result)).toBe(true);
    expect(result.before.map((t) => t.id)).toEqual([
      "db-volume",
      "writer-removed",
      "reader-running",
    ]);
    expect(result.before.find((t) => t.id === "writer-removed")!.message).toMatch(
      /No container has mounted db read-write yet/,
    );
    expect(result.after.find((t) => t.id === "writer-removed")!.message).toBe(
      "reader mounted db after writer was removed, and row1 is still in app.db.",
    );
  });
});

describe("the check API in one student session", () => {
  let sessionId: string;
  const api = () => {
    const session = server.sessions.get(sessionId)!;
    return { session, s: createCheckSession(server.engine.docker, session, Date.now() + 30_000) };
  };
  // Each test has a session of its own, and makes what it reads.
  beforeEach(async () => {
    const client = new ApiClient(server.url);
    sessionId = (await client.call("POST", "/api/sessions")).body.id;
  });
  afterEach(async () => {
    await server.sessions.destroy(sessionId, "test done");
  });

  it("history: the writer was removed before another container mounted the volume (each step of the story)", async () => {
    const sh = (script: string) => studentShell(server, sessionId, script);
    const check = async () =>
      (await runExerciseChecks(
        server.engine.docker,
        server.sessions.get(sessionId)!,
        lessonsDir,
        "01-check-api",
        "row-survives",
      ))!.find((t) => t.id === "writer-removed")!;
    expect(
      (
        await sh(
          "docker volume create db && docker run --name A -v db:/data busybox sh -c 'echo row1 > /data/app.db'",
        )
      ).exitCode,
    ).toBe(0);
    expect((await check()).message).toBe(
      "A mounted db, but it still exists: remove it with docker rm A.",
    );
    // B mounts the volume while A still exists: does not count as "later".
    expect(
      (await sh("docker run --name B -v db:/data:ro busybox true && docker rm A")).exitCode,
    ).toBe(0);
    expect((await check()).message).toBe(
      "A is gone: now mount db in another container to see that the data stayed.",
    );
    expect(
      (await sh("docker run --rm --name C -v db:/data:ro busybox cat /data/app.db")).exitCode,
    ).toBe(0);
    const done = await check();
    expect(done).toEqual({
      id: "writer-removed",
      passed: true,
      message: "C mounted db after A was removed, and row1 is still in app.db.",
    });

    const { s } = api();
    const uses = await s.volumeUses("db");
    expect(
      uses.map((u) => [u.container, u.destination, u.readOnly, u.removedAt !== undefined]),
    ).toEqual([
      ["A", "/data", false, true],
      ["B", "/data", true, false],
      ["C", "/data", true, true],
    ]);
    const history = await s.history();
    // The checks' own throwaway readers are not in the history the checks see.
    expect(history.some((e) => (e.container ?? "").startsWith(CHECK_CONTAINER_PREFIX))).toBe(false);
    expect((await s.history({ type: "container", action: "destroy" })).map((e) => e.name)).toEqual([
      "A",
      "C",
    ]);
    expect(
      (await s.history({ type: "volume", action: "create", name: "db" })).length,
    ).toBeGreaterThan(0);
  });

  it("volumes, containers, mounts, labels, files, exec and sh, in the student's names", async () => {
    const setup = await studentShell(
      server,
      sessionId,
      `set -e
docker volume create db
docker run --name B -v db:/data busybox sh -c 'echo row1 > /data/app.db'
docker volume create --label team=blue notes
mkdir -p site && echo '<h1>hi</h1>' > site/index.html
docker run -d --name web -l tier=front -v notes:/notes -v "$PWD/site":/site:ro --tmpfs /cache:size=8m --read-only --restart unless-stopped busybox sh -c 'echo note > /notes/n.txt; echo inner > /inner.txt 2>/dev/null; sleep 3600'
docker run --name stopped --restart on-failure:2 -v notes:/notes busybox sh -c 'echo stopped-file > /made.txt'
sleep 0.5`,
    );
    expect(setup.exitCode, setup.output).toBe(0);
    const { s } = api();

    const volumes = await s.volumes();
    expect(volumes.map((v) => v.name).sort()).toEqual(["db", "notes"]);
    const notes = await s.volume("notes");
    expect(notes).toMatchObject({
      name: "notes",
      driver: "local",
      labels: { team: "blue" },
      anonymous: false,
    });
    expect(notes!.createdAt.getTime()).toBeGreaterThan(Date.now() - 120_000);
    expect(await s.volume("missing")).toBeUndefined();

    expect((await s.containers()).map((c) => c.name)).toEqual(["web"]);
    expect((await s.containers({ all: true })).map((c) => c.name).sort()).toEqual([
      "B",
      "stopped",
      "web",
    ]);
    const web = (await s.container("web"))!;
    expect(web).toMatchObject({
      name: "web",
      image: "busybox",
      state: "running",
      running: true,
      readOnlyRootfs: true,
      restartPolicy: "unless-stopped",
      labels: { tier: "front" },
    });
    expect(web.finishedAt).toBeUndefined();
    const byTarget = Object.fromEntries(web.mounts.map((m) => [m.target, m]));
    expect(byTarget["/notes"]).toEqual({
      type: "volume",
      source: "notes",
      target: "/notes",
      readOnly: false,
    });
    expect(byTarget["/site"]).toMatchObject({ type: "bind", target: "/site", readOnly: true });
    expect(byTarget["/site"]!.source).toBe("/home/student/site");
    expect(byTarget["/cache"]).toEqual({
      type: "tmpfs",
      source: "",
      target: "/cache",
      readOnly: false,
      sizeBytes: 8 * 1024 * 1024,
    });
    const stopped = (await s.container("stopped"))!;
    expect(stopped).toMatchObject({
      state: "exited",
      running: false,
      exitCode: 0,
      restartPolicy: "on-failure",
    });
    expect(stopped.finishedAt).toBeInstanceOf(Date);
    expect(await s.container("nobody")).toBeUndefined();

    // Through a container that mounts the volume (web, running; B, stopped): no throwaway container.
    const throwaways = () =>
      server.sessions
        .get(sessionId)!
        .history.filter(
          (e) =>
            e.type === "container" &&
            e.action === "create" &&
            e.name?.startsWith(CHECK_CONTAINER_PREFIX),
        ).length;
    const before = throwaways();
    expect(await s.readFile({ volume: "notes", path: "/n.txt" })).toBe("note\n");
    expect(
      (await s.readBytes({ volume: "db", path: "app.db" }))!.equals(Buffer.from("row1\n")),
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(throwaways()).toBe(before);
    // No container mounts `lonely`: read through a reader that is created, never started, and
    // removed: no start (so no wait for the class's start slot), nothing left, nothing in the history.
    expect(
      (
        await studentShell(
          server,
          sessionId,
          "docker run --rm -v lonely:/x busybox sh -c 'mkdir /x/sub; echo alone > /x/f.txt; echo deep > /x/sub/d.txt; chown 999:70 /x/sub/d.txt; chmod 640 /x/sub/d.txt'",
        )
      ).exitCode,
    ).toBe(0);
    const engineEvents: { Action: string; Actor: { Attributes: Record<string, string> } }[] = [];
    const since = Math.floor(Date.now() / 1000) - 1;
    const historyBefore = server.sessions.get(sessionId)!.history.length;
    expect(await s.readFile({ volume: "lonely", path: "f.txt" })).toBe("alone\n");
    const files = (await s.listFiles({ volume: "lonely", path: "/" }))!;
    expect(files.map((f) => [f.path, f.type])).toEqual([
      [".", "directory"],
      ["f.txt", "file"],
      ["sub", "directory"],
      ["sub/d.txt", "file"],
    ]);
    expect(files.find((f) => f.path === "sub/d.txt")).toMatchObject({
      uid: 999,
      gid: 70,
      mode: 0o640,
      size: 5,
      sha256: createHash("sha256").update("deep\n").digest("hex"),
    });
    expect(await s.listFiles({ volume: "lonely", path: "nope" })).toBeUndefined();
    expect(
      await s.readFile({ volume: "lonely", path: "sub" }),
      "a folder is not a file",
    ).toBeUndefined();
    await new Promise((r) => setTimeout(r, 400));
    const stream = await server.engine.docker.getEvents({
      since,
      until: Math.floor(Date.now() / 1000) + 1,
      filters: { type: ["container"], label: [`stowage.session=${sessionId}`] },
    });
    for (const line of (
      await new Promise<string>((resolve) => {
        let text = "";
        stream.on("data", (c: Buffer) => (text += c));
        stream.on("end", () => resolve(text));
      })
    )
      .split("\n")
      .filter(Boolean))
      engineEvents.push(JSON.parse(line));
    const readerEvents = engineEvents.filter((e) =>
      (e.Actor.Attributes.name ?? "").includes(CHECK_CONTAINER_PREFIX),
    );
    expect(readerEvents.map((e) => e.Action)).toContain("create");
    expect(
      readerEvents.map((e) => e.Action),
      "a reader is never started",
    ).not.toContain("start");
    expect(
      (
        await server.engine.docker.listContainers({
          all: true,
          filters: { label: [`stowage.session=${sessionId}`, "stowage.role=check-reader"] },
        })
      ).length,
      "no reader is left behind",
    ).toBe(0);
    expect(
      server.sessions.get(sessionId)!.history.slice(historyBefore),
      "the readers' events are not the student's",
    ).toEqual([]);
    expect(throwaways()).toBe(before);
    expect(
      (await s.containers({ all: true })).some((c) => c.name.startsWith(CHECK_CONTAINER_PREFIX)),
    ).toBe(false);
    expect(await s.readFile({ volume: "notes", path: "missing.txt" })).toBeUndefined();
    expect(await s.readFile({ volume: "nowhere", path: "x" })).toBeUndefined();
    expect(
      await s.volume("nowhere"),
      "reading from a missing volume must not create it",
    ).toBeUndefined();
    expect(await s.readFile({ container: "web", path: "/site/index.html" })).toBe("<h1>hi</h1>\n");
    expect(await s.readFile({ container: "stopped", path: "/made.txt" })).toBe("stopped-file\n");
    expect(await s.readFile({ container: "stopped", path: "/nope" })).toBeUndefined();
    expect(await s.readFile({ container: "ghost", path: "/etc/hostname" })).toBeUndefined();

    expect(await s.exec("web", ["sh", "-c", "echo $((6*7)); echo err >&2; exit 3"])).toEqual({
      exitCode: 3,
      stdout: "42\n",
      stderr: "err\n",
    });
    // Arguments are passed as they are, never through a shell.
    expect((await s.exec("web", ["echo", "$(id)", "'quoted'", "a;b"])).stdout).toBe(
      "$(id) 'quoted' a;b\n",
    );
    expect(await s.sh("whoami; pwd; docker ps --format '{{.Names}}'")).toEqual({
      exitCode: 0,
      stdout: "student\n/home/student\nweb\n",
      stderr: "",
    });
    await expect(s.exec("-rm", ["x"])).rejects.toThrow(/not a container name/);
  });

  it("a check reads only its own student's volumes through the engine, and leaves no reader behind", async () => {
    const client = new ApiClient(server.url);
    const other = (await client.call("POST", "/api/sessions")).body.id;
    expect(
      (
        await studentShell(
          server,
          other,
          "docker run --rm -v private:/x busybox sh -c 'echo mine > /x/secret.txt'",
        )
      ).exitCode,
    ).toBe(0);
    const { s } = api();
    expect(
      await s.readFile({ volume: "private", path: "secret.txt" }),
      "another student's volume of the same name",
    ).toBeUndefined();
    expect(await s.listFiles({ volume: "private", path: "/" })).toBeUndefined();
    expect(
      await s.volume("private"),
      "reading must not create the volume in this session",
    ).toBeUndefined();
    const otherSession = server.sessions.get(other)!;
    const theirs = createCheckSession(server.engine.docker, otherSession, Date.now() + 30_000);
    expect(await theirs.readFile({ volume: "private", path: "secret.txt" })).toBe("mine\n");
    const readers = await server.engine.docker.listContainers({
      all: true,
      filters: { label: ["stowage.role=check-reader"] },
    });
    expect(
      readers.filter((c) => [sessionId, other].includes(c.Labels["stowage.session"] ?? "")).length,
    ).toBe(0);
  });

  it("image: what the session built, told apart from a course image and from a course image tagged with another name; another session's is not there", async () => {
    const client = new ApiClient(server.url);
    const other = (await client.call("POST", "/api/sessions")).body.id;
    const theirs = await studentShell(
      server,
      other,
      "mkdir -p b && printf 'FROM busybox\\nVOLUME /theirs\\n' > b/Dockerfile && docker build -q -t stash b",
    );
    expect(theirs.exitCode, theirs.output).toBe(0);
    const mine = await studentShell(
      server,
      sessionId,
      `set -e
mkdir -p stash
printf 'FROM busybox\\nRUN mkdir /data && chown 10001:10001 /data\\nVOLUME /data /cache\\nUSER 10001\\nWORKDIR /data\\nCMD ["sleep", "3600"]\\n' > stash/Dockerfile
docker build -q -t stash stash
docker tag stash stash:v2
docker tag busybox fake
docker run -d --name app stash`,
    );
    expect(mine.exitCode, mine.output).toBe(0);
    const { s } = api();

    const stash = (await s.image("stash"))!;
    expect(stash).toMatchObject({
      tags: ["stash:latest", "stash:v2"],
      built: true,
      user: "10001",
      volumes: ["/cache", "/data"],
      workingDir: "/data",
      command: ["sleep", "3600"],
    });
    expect(stash.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await s.image("stash:v2"))!.built, "tagged again, still built here").toBe(true);
    expect((await s.container("app"))!.raw.Image, "a container's image is the same id").toBe(
      stash.id,
    );
    expect(await s.image(stash.id.slice(7, 19)), "by id").toMatchObject({ id: stash.id });

    const fake = (await s.image("fake"))!;
    expect(fake.built, "a course image under another name").toBe(false);
    expect(fake.volumes).toEqual([]);
    expect((await s.image("busybox"))!.built).toBe(false);
    expect(fake.id).toBe((await s.image("busybox"))!.id);

    expect(await s.image("nothing-here")).toBeUndefined();
    const othersId = (
      await studentShell(server, other, "docker image inspect --format '{{.Id}}' stash")
    ).stdout.trim();
    expect(othersId).toMatch(/^sha256:/);
    expect(othersId).not.toBe(stash.id);
    expect(await s.image(othersId), "another session's image, by id").toBeUndefined();
    await expect(s.image("-f")).rejects.toThrow(/not an image name/);
    await server.sessions.destroy(other, "test done");
  });

  it("the checks API route runs TypeScript checks in the caller's session", async () => {
    const client = new ApiClient(server.url);
    const id = (await client.call("POST", "/api/sessions")).body.id;
    const before = await client.call("POST", `/api/sessions/${id}/checks`, {
      lesson: "01-check-api",
      exercise: "row-survives",
    });
    expect(before.status).toBe(200);
    expect(before.body.tasks.map((t: any) => [t.id, t.passed])).toEqual([
      ["db-volume", false],
      ["writer-removed", false],
      ["reader-running", false],
    ]);
    expect(before.body.tasks[0].message).toBe(
      "There is no volume named db yet: create it with docker volume create db.",
    );
    await server.sessions.destroy(id, "test done");
  });
});

describe("checks that go wrong fail with a message, never an error", () => {
  it("throw fail(), throw an Error, answer nothing, run out of time, or are not defineCheck modules", async () => {
    const { session } = await server.sessions.create("misbehaving", "misbehaving");
    try {
      const started = Date.now();
      const tasks = (await runExerciseChecks(
        server.engine.docker,
        session,
        lessonsDir,
        "01-check-api",
        "misbehaving",
      ))!;
      expect(Date.now() - started).toBeLessThan(8000);
      const byId = Object.fromEntries(tasks.map((t) => [t.id, t]));
      expect(byId["throws-fail"]).toEqual({
        id: "throws-fail",
        passed: false,
        message: "There is no volume named nowhere.",
      });
      expect(byId["throws-error"]!.message).toBe(
        "This task's check hit an error and could not decide; tell your instructor. (instructor bug)",
      );
      expect(byId["no-answer"]!.message).toMatch(/gave no answer/);
      expect(byId["too-slow"]!.message).toBe(
        "The check took longer than 1 s and was stopped. Try again in a moment.",
      );
      expect(byId["not-a-check"]!.message).toMatch(
        /could not be loaded.*export default defineCheck/,
      );
      expect(tasks.every((t) => !t.passed)).toBe(true);
    } finally {
      await server.sessions.destroy(session.id, "test done");
    }
  });

  it("a TypeScript check edited on disk is re-imported on the next run", async () => {
    const dir = await mkdtemp(join(resolve(".data"), "ts-reload-"));
    try {
      await cp(join(lessonsDir, "01-check-api"), join(dir, "01-check-api"), { recursive: true });
      const checks = join(dir, "01-check-api", "exercises", "row-survives", "checks");
      await rm(join(checks, "writer-removed.ts"));
      const api = pathToFileURL(resolve("sandbox/checks/api.ts")).href;
      const write = async (verdict: string, when: number) => {
        const file = join(checks, "db-volume.ts");
        await writeFile(
          file,
          `import { defineCheck, pass, fail } from "${api}";\nexport default defineCheck(async () => ${verdict});\n`,
        );
        await utimes(file, when, when);
      };
      const { session } = await server.sessions.create("reload", "reload");
      try {
        const first = async () =>
          (await runExerciseChecks(
            server.engine.docker,
            session,
            dir,
            "01-check-api",
            "row-survives",
          ))![0]!;
        await write(`fail("version one")`, 1_000_000);
        expect((await first()).message).toBe("version one");
        await write(`pass("version two")`, 2_000_000);
        expect(await first()).toEqual({ id: "db-volume", passed: true, message: "version two" });
      } finally {
        await server.sessions.destroy(session.id, "test done");
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
