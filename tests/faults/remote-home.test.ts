/**
 * A session on a remote engine (`remote=1`: nothing of the engine's host may be used by the
 * server) keeps its home as a volume there. A private Engine 26 this file starts
 * (scripts/test-engine.sh 26r) plays the remote engine; the default engine is drained, so every
 * session lands on it. The student's docker CLI
 * is driven from this process against the session's proxy socket on the server.
 *
 * Proves: the home is a volume on the engine and the server holds only session.json, the screen, the event history
 * and the proxy socket; `-v` and `--mount` binds of a home folder serve the home's files
 * (read-only kept) and show as the student wrote them; links out of the home and a folder
 * swapped for a link are refused or confined; another session's home volume cannot be named;
 * the Files panel works; a reset keeps the files; the quota sees the home.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import {
  ApiClient,
  restartTestServer,
  startTestServer,
  studentShell,
} from "../../tools/sandbox-server.ts";
import { PROMPT, TerminalClient } from "../../tools/terminal-client.ts";
import { ENGINE_LOST_REMOTE } from "../../sandbox/sessions/session.ts";
import { startServer } from "../../sandbox/server.ts";
import { runCheckScript } from "../../sandbox/sessions/check-container.ts";
import { ensureImagesOnEngines } from "../../sandbox/images/build.ts";
import { WORKSTATION_IMAGE } from "../../sandbox/images/catalog.ts";

const run = promisify(execFile);
const PRIVATE_SOCKET = "/run/stowage-e26r/docker.sock";
const privateDocker = new Docker({ socketPath: PRIVATE_SOCKET });
const PRIVATE_PID = "/var/lib/stowage-e26r/dockerd.pid";
const DOCKER_CLI = join(process.cwd(), ".tools/docker26/bin/docker");

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let startedEngine = false;

const engineScript = (verb: "start" | "stop") =>
  run("bash", ["scripts/test-engine.sh", "26r", verb], { timeout: 600_000 });

beforeAll(async () => {
  const { stdout } = await engineScript("start");
  startedEngine = stdout.includes("STOWAGE_TEST_ENGINE_STARTED=1");
  await ensureImagesOnEngines(
    [
      { name: "default", docker: new Docker() },
      { name: "e26r", docker: privateDocker },
    ],
    { only: [WORKSTATION_IMAGE], progress: null },
  );
  server = await startTestServer({
    engines: `unix://${PRIVATE_SOCKET}?name=e26r&subnets=10.242.0.0/16&remote=1`,
    diskQuotaMb: 32,
  });
  // Every session on the remote engine.
  server.sessions.setDraining(server.engine, true);
}, 600_000);

afterAll(async () => {
  const instance = server?.config.instance;
  await server?.close();
  // Started again if the lost-engine test left it killed, so its leftovers can be removed.
  await engineScript("start");
  if (instance) {
    const filters = { label: [`stowage.instance=${instance}`] };
    for (const c of await privateDocker.listContainers({ all: true, filters }))
      await privateDocker.getContainer(c.Id).remove({ force: true, v: true });
    for (const v of (await privateDocker.listVolumes({ filters })).Volumes ?? [])
      await privateDocker.getVolume(v.Name).remove({ force: true });
    for (const n of await privateDocker.listNetworks({ filters }))
      await privateDocker.getNetwork(n.Id).remove();
  }
  if (startedEngine) await engineScript("stop");
}, 120_000);

/** The student's docker CLI, as it would run in the workstation: against the session's proxy socket. */
async function studentDocker(
  id: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string; output: string }> {
  const session = server.sessions.get(id)!;
  return run(DOCKER_CLI, args, {
    env: { ...process.env, DOCKER_HOST: `unix://${session.scope.proxySocketPath}` },
    timeout: 60_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr, output: stdout + stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === "number" ? error.code : 1,
      stdout: error.stdout ?? "",
      stderr: error.stderr ?? "",
      output: (error.stdout ?? "") + (error.stderr ?? ""),
    }),
  );
}

async function learner(): Promise<{ client: ApiClient; id: string }> {
  const client = new ApiClient(server.url);
  const { status, body } = await client.call("POST", "/api/sessions");
  expect(status, JSON.stringify(body)).toBe(201);
  expect(server.sessions.get(body.id)!.engine.name).toBe("e26r");
  return { client, id: body.id };
}

async function waitFor<T>(probe: () => Promise<T> | T, ok: (v: T) => boolean, ms = 30_000) {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    value = await probe();
  }
  expect(ok(value), String(value)).toBe(true);
  return value;
}

async function shell(id: string, script: string) {
  const r = await studentShell(server, id, script);
  expect(r.exitCode, r.output).toBe(0);
  return r.stdout;
}

describe("a session on a remote engine", () => {
  let a: { client: ApiClient; id: string };

  it("has its home as a volume there, and nothing on the server but its record, screen and proxy socket", async () => {
    a = await learner();
    const session = server.sessions.get(a.id)!;
    const volume = await privateDocker.getVolume(`stw-${a.id}--home`).inspect();
    expect(volume.Labels["stowage.session"]).toBe(a.id);
    expect(volume.Labels["stowage.owner"]).toBeUndefined(); // infra: never the student's to list or remove
    const workstation = await privateDocker.getContainer(session.workstationId!).inspect();
    expect(workstation.HostConfig.Binds ?? []).toEqual([]);
    expect(
      workstation.Mounts.map((m) => [m.Type, (m as { Name?: string }).Name, m.Destination]),
    ).toContainEqual(["volume", `stw-${a.id}--home`, "/home/student"]);
    // (events.json, the event history for a restarted server, comes with the first save.)
    expect((await readdir(session.sessionDir)).filter((f) => f !== "events.json").sort()).toEqual([
      "run",
      "session.json",
    ]);
    expect(await readdir(join(session.sessionDir, "run"))).toEqual(["docker.sock"]);
    // The student owns the home and the socket folder as the workstation sees them (userns-remap).
    const owners = await shell(
      a.id,
      "stat -c '%u:%g %a' ~ /run/stowage && echo hi > ~/mine && stat -c '%u:%g' ~/mine && cat /proc/mounts | grep -E ' /run/stowage | /home/student '",
    );
    expect(owners).toMatch(/^1000:1000 \d+\n1000:1000 755\n1000:1000\n/);
    expect(owners).toMatch(/tmpfs \/run\/stowage tmpfs rw,nosuid,nodev,noexec/);
  });

  it("serves a home folder through -v (read-only kept) and --mount, shown as the student wrote it", async () => {
    await shell(a.id, "mkdir -p ~/site && echo 'hello from home' > ~/site/index.html");
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const viaV = await studentDocker(a.id, [
      "run",
      "--rm",
      "-v",
      "/home/student/site:/usr/share/nginx/html:ro",
      "busybox",
      "sh",
      "-c",
      "cat /usr/share/nginx/html/index.html; touch /usr/share/nginx/html/x 2>&1 || true",
    ]);
    expect(viaV.code, viaV.output).toBe(0);
    expect(viaV.stdout).toContain("hello from home");
    expect(viaV.stdout).toContain("Read-only file system");
    const viaMount = await studentDocker(a.id, [
      "run",
      "--rm",
      "--mount",
      "type=bind,src=/home/student/site,dst=/x",
      "busybox",
      "sh",
      "-c",
      "cat /x/index.html && echo written > /x/back.txt",
    ]);
    expect(viaMount.code, viaMount.output).toBe(0);
    expect(viaMount.stdout).toContain("hello from home");
    expect(await shell(a.id, "cat ~/site/back.txt")).toBe("written\n");

    // A single file, as a config file is bound.
    const file = await studentDocker(a.id, [
      "run",
      "--rm",
      "-v",
      "/home/student/site/index.html:/etc/page.html:ro",
      "busybox",
      "cat",
      "/etc/page.html",
    ]);
    expect(file.stdout, file.output).toBe("hello from home\n");

    // docker inspect / ps show the binds as written, never the volume or its path.
    const created = await studentDocker(a.id, [
      "create",
      "--name",
      "web",
      "-v",
      "/home/student/site:/data:ro",
      "--mount",
      "type=bind,src=/home/student/site,dst=/more",
      "busybox",
    ]);
    expect(created.code, created.output).toBe(0);
    const inspect = await studentDocker(a.id, ["inspect", "web"]);
    const [info] = JSON.parse(inspect.stdout) as {
      HostConfig: { Binds: string[]; Mounts: { Type: string; Source: string; Target: string }[] };
      Mounts: { Type: string; Source: string; Destination: string; RW: boolean }[];
    }[];
    expect(info!.HostConfig.Binds).toEqual(["/home/student/site:/data:ro"]);
    expect(info!.HostConfig.Mounts).toEqual([
      { Type: "bind", Source: "/home/student/site", Target: "/more", ReadOnly: false },
    ]);
    expect(info!.Mounts.map((m) => [m.Type, m.Source, m.Destination, m.RW]).sort()).toEqual([
      ["bind", "/home/student/site", "/data", false],
      ["bind", "/home/student/site", "/more", true],
    ]);
    const ps = await studentDocker(a.id, ["ps", "-a", "--no-trunc", "--format", "{{.Mounts}}"]);
    for (const text of [inspect.stdout, ps.stdout]) {
      expect(text).not.toContain("--home");
      expect(text).not.toContain("-home");
      expect(text).not.toContain("/volumes/");
      expect(text).not.toContain("stowage-e26r");
    }
    expect(ps.stdout).toContain("/home/student/site");
    // Nor do the student's events: a bind at home makes no volume event.
    const events = await studentDocker(a.id, [
      "events",
      "--since",
      since,
      "--until",
      String(Math.ceil(Date.now() / 1000) + 1),
      "--format",
      "{{.Type}} {{.Action}} {{.Actor.ID}}",
    ]);
    expect(events.code, events.output).toBe(0);
    expect(events.stdout).toContain("container create");
    expect(events.stdout).not.toMatch(/^volume .*home/m);

    // A missing folder: -v makes it (as the student), --mount refuses as for a bind.
    const made = await studentDocker(a.id, [
      "run",
      "--rm",
      "-v",
      "/home/student/new/deep:/d",
      "busybox",
      "touch",
      "/d/f",
    ]);
    expect(made.code, made.output).toBe(0);
    expect(await shell(a.id, "stat -c '%u:%g' ~/new/deep")).toBe("1000:1000\n");
    const missing = await studentDocker(a.id, [
      "run",
      "--rm",
      "--mount",
      "type=bind,src=/home/student/nothing-here,dst=/d",
      "busybox",
      "true",
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.output).toContain("bind source path does not exist: /home/student/nothing-here");
  });

  it("refuses a link out of the home, and confines a folder swapped for a link after the check", async () => {
    await shell(
      a.id,
      "ln -sfn /etc ~/to-etc && ln -sfn ../.. ~/to-root && ln -sfn /etc/hostname ~/host-file",
    );
    for (const source of [
      "/home/student/to-etc",
      "/home/student/to-root",
      "/home/student/to-root/etc",
      "/home/student/host-file",
      "/home/student/../../etc",
      "/home/student/missing/../to-etc",
      "/etc",
    ]) {
      for (const spec of [
        ["-v", `${source}:/d`],
        ["--mount", `type=bind,src=${source},dst=/d`],
      ]) {
        const r = await studentDocker(a.id, ["run", "--rm", ...spec, "busybox", "ls", "/d"]);
        expect(r.code, `${spec.join(" ")}: ${r.output}`).not.toBe(0);
        expect(r.output).toContain("bind mounts may only use folders in your home");
      }
    }
    // A loop of links: refused, not a server error.
    await shell(a.id, "ln -sfn loop ~/loop");
    const looped = await studentDocker(a.id, [
      "run",
      "--rm",
      "-v",
      "/home/student/loop/x:/d",
      "busybox",
      "true",
    ]);
    expect(looped.code).not.toBe(0);
    expect(looped.output).toContain("could not be resolved in your home");
    // Checked, created, then the folder swapped for a link (to the root, then to the home's
    // parent): the engine resolves the subpath inside the volume at each start.
    for (const link of ["/etc", "../.."]) {
      await shell(a.id, "rm -rf ~/swap && mkdir ~/swap && echo inside > ~/swap/marker");
      const name = `swap-${link === "/etc" ? "etc" : "up"}`;
      const created = await studentDocker(a.id, [
        "create",
        "--name",
        name,
        "-v",
        "/home/student/swap:/d",
        "busybox",
        "sh",
        "-c",
        "ls -a /d; cat /d/passwd /d/etc/passwd 2>/dev/null",
      ]);
      expect(created.code, created.output).toBe(0);
      await shell(a.id, `rm -rf ~/swap && ln -s ${link} ~/swap`);
      const started = await studentDocker(a.id, ["start", "-a", name]);
      // The engine refuses the start (its subpath resolution stays inside the volume), in the
      // student's paths; never the engine host's /etc (its passwd has the userns-remap user).
      expect(started.code).not.toBe(0);
      expect(started.output).toContain(
        "path concatenation escapes the base directory, base: /home/student, subpath: swap",
      );
      expect(started.output).not.toContain("dockremap");
      expect(started.output).not.toMatch(/root:x:0:0/);
      expect(started.output).not.toContain("hostname");
    }
  });

  it("cannot name or mount another session's home volume", async () => {
    const b = await learner();
    await shell(b.id, "echo b-secret > ~/secret.txt");
    for (const args of [
      ["run", "--rm", "-v", `stw-${b.id}--home:/d`, "busybox", "cat", "/d/secret.txt"],
      [
        "run",
        "--rm",
        "--mount",
        `type=volume,src=stw-${b.id}--home,dst=/d`,
        "busybox",
        "cat",
        "/d/secret.txt",
      ],
      [
        "run",
        "--rm",
        "--mount",
        `type=volume,src=stw-${b.id}--home,dst=/d,volume-subpath=.`,
        "busybox",
        "cat",
        "/d/secret.txt",
      ],
      ["run", "--rm", "-v", "-home:/d", "busybox", "cat", "/d/secret.txt"],
      ["volume", "inspect", `stw-${b.id}--home`],
      ["volume", "inspect", `stw-${a.id}--home`],
      ["volume", "rm", `stw-${a.id}--home`],
    ]) {
      const r = await studentDocker(a.id, args);
      expect(r.output, args.join(" ")).not.toContain("b-secret");
    }
    // A name the student writes is always in their own namespace (at most an empty volume of
    // theirs): on the engine, only B's own infrastructure ever mounted B's home.
    const users = await privateDocker.listContainers({
      all: true,
      filters: { volume: [`stw-${b.id}--home`] },
    });
    expect(users.map((c) => c.Labels["stowage.session"])).toEqual(users.map(() => b.id));
    expect(users.every((c) => c.Labels["stowage.owner"] === undefined)).toBe(true);
    const listed = await studentDocker(a.id, ["volume", "ls", "-q"]);
    expect(listed.stdout.split("\n")).not.toContain("-home");
    expect(listed.stdout).not.toContain(`stw-${a.id}--home`);
    // Its own home volume is still there and B's file too.
    await privateDocker.getVolume(`stw-${a.id}--home`).inspect();
    expect(await shell(b.id, "cat ~/secret.txt")).toBe("b-secret\n");
    await server.sessions.destroy(b.id, "test done");
  });

  it("lists, uploads and downloads files of the home from the Files panel", async () => {
    const upload = await fetch(
      `${server.url}/api/sessions/${a.id}/files/upload?path=${encodeURIComponent("notes/up.txt")}`,
      { method: "PUT", headers: { cookie: a.client.cookie }, body: "uploaded text" },
    );
    expect(upload.status, await upload.text()).toBe(201);
    expect(await shell(a.id, "cat ~/notes/up.txt; stat -c '%u' ~/notes/up.txt")).toBe(
      "uploaded text1000\n",
    );
    const listing = await a.client.call("GET", `/api/sessions/${a.id}/files`);
    expect(listing.status).toBe(200);
    const paths = (listing.body.files as { path: string }[]).map((f) => f.path);
    expect(paths).toContain("notes/up.txt");
    expect(paths).toContain("site/index.html");
    const download = await fetch(
      `${server.url}/api/sessions/${a.id}/files/download?path=${encodeURIComponent("site/index.html")}`,
      { headers: { cookie: a.client.cookie } },
    );
    expect(download.status).toBe(200);
    expect(await download.text()).toBe("hello from home\n");
    // A check reads the home in the session's check container (the home volume, read-only).
    const session = server.sessions.get(a.id)!;
    const check = await runCheckScript(
      session.engine.docker,
      session,
      "cat ~/notes/up.txt; echo; touch ~/check-wrote 2>/dev/null && echo wrote || echo read-only",
      { timeoutMs: 30_000 },
    );
    expect(check.stdout).toBe("uploaded text\nread-only\n");
  });

  it("keeps the files across a reset with keep-home, into a new home volume", async () => {
    // With links in and out of the home (the escape test left ~/to-etc -> /etc and ~/swap -> ../..),
    // and a file that comes after them in the archive.
    await shell(
      a.id,
      "mkdir -p ~/kept/dir && echo kept-content > ~/kept/dir/file.txt && ln -s dir ~/kept/link && echo last > ~/zz-last.txt",
    );
    const old = a.id;
    const reset = await a.client.call("POST", `/api/sessions/${a.id}/reset`, { keepHome: true });
    expect(reset.status, JSON.stringify(reset.body)).toBe(201);
    a = { client: a.client, id: reset.body.id };
    expect(a.id).not.toBe(old);
    expect(server.sessions.get(a.id)!.engine.name).toBe("e26r");
    expect(
      await shell(
        a.id,
        "cat ~/kept/link/file.txt; stat -c '%u:%g' ~/kept/dir/file.txt ~; cat ~/site/index.html",
      ),
    ).toBe("kept-content\n1000:1000\n1000:1000\nhello from home\n");
    expect(await shell(a.id, "cat ~/zz-last.txt; readlink ~/to-etc")).toBe("last\n/etc\n");
    // The old home volume is gone with its session, and nothing was left on the server.
    const volumes = (await privateDocker.listVolumes()).Volumes ?? [];
    expect(volumes.map((v) => v.Name)).not.toContain(`stw-${old}--home`);
    expect((await readdir(join(server.dataDir, "sessions"))).sort()).toEqual([a.id]);
  });

  it("counts the home volume in the disk quota, and tells the student", async () => {
    const terminal = await TerminalClient.open(server.url, a.id, a.client.cookie);
    try {
      await terminal.waitFor(PROMPT, 20_000);
      await shell(a.id, "head -c 40M /dev/zero > ~/big.bin");
      const result = await server.sessions.get(a.id)!.quota!.check(true);
      expect(result.usage.homeBytes).toBeGreaterThanOrEqual(40 * 1024 * 1024);
      expect(result.over).toBe(true);
      await terminal.waitFor(/over its limit of 32 MiB; most of it is in your home folder/, 10_000);
    } finally {
      await terminal.close();
    }
    await shell(a.id, "rm ~/big.bin");
    const after = await server.sessions.get(a.id)!.quota!.check(true);
    expect(after.over).toBe(false);
  });

  it("is taken back after a server restart, with its home, and nothing of it on the server's disk but its record", async () => {
    await shell(a.id, "echo before-restart > ~/site/restart.txt");
    server = await restartTestServer(server);
    server.sessions.setDraining(server.engine, true);
    const again = await a.client.call("POST", "/api/sessions");
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.id).toBe(a.id);
    expect(server.sessions.get(a.id)!.engine.name).toBe("e26r");
    const served = await studentDocker(a.id, [
      "run",
      "--rm",
      "-v",
      "/home/student/site:/d:ro",
      "busybox",
      "cat",
      "/d/restart.txt",
    ]);
    expect(served.stdout, served.output).toBe("before-restart\n");
    const left = (await readdir(server.sessions.get(a.id)!.sessionDir)).sort();
    expect(
      left.filter((f) => !["run", "session.json", "screen.txt", "events.json"].includes(f)),
    ).toEqual([]);
  });

  it("keeps the home when the workstation was removed behind the server's back", async () => {
    await shell(a.id, "echo survived > ~/survivor.txt");
    const old = a.id;
    const owner = server.sessions.get(old)!.owner;
    await privateDocker
      .getContainer(server.sessions.get(old)!.workstationId!)
      .remove({ force: true });
    const rebuilt = await waitFor(
      () => server.sessions.forOwner(owner)?.id,
      (id) => id !== undefined && id !== old,
    );
    a = { client: a.client, id: rebuilt! };
    // Ready once its home is restored (the rebuilt session is listed before that; studentShell
    // throws at once while it has no workstation yet).
    await waitFor(
      async () => {
        try {
          return (await studentShell(server, a.id, "cat ~/survivor.txt")).stdout;
        } catch (error) {
          return (error as Error).message;
        }
      },
      (out) => out === "survived\n",
    );
  });

  it("brings a home kept on this host (a local engine's) into a remote one at a reset", async () => {
    const remoteEngine = server.sessions.get(a.id)!.engine;
    server.sessions.setDraining(server.engine, false);
    server.sessions.setDraining(remoteEngine, true);
    const client = new ApiClient(server.url);
    const created = await client.call("POST", "/api/sessions");
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(server.sessions.get(created.body.id)!.engine.name).toBe("default");
    await shell(created.body.id, "mkdir -p ~/local/dir && echo from-local > ~/local/dir/f.txt");
    server.sessions.setDraining(remoteEngine, false);
    server.sessions.setDraining(server.engine, true);
    const reset = await client.call("POST", `/api/sessions/${created.body.id}/reset`, {
      keepHome: true,
    });
    expect(reset.status, JSON.stringify(reset.body)).toBe(201);
    const moved = reset.body.id as string;
    expect(server.sessions.get(moved)!.engine.name).toBe("e26r");
    expect(await shell(moved, "cat ~/local/dir/f.txt; stat -c '%u:%g' ~/local/dir/f.txt")).toBe(
      "from-local\n1000:1000\n",
    );
    await server.sessions.destroy(moved, "test done");
  });

  it("says the files could not be kept when the engine holding them is lost, and keeps the progress", async () => {
    await shell(a.id, "echo gone-with-the-engine > ~/lost.txt");
    const lesson = "02-named-volumes";
    expect((await a.client.call("POST", "/api/progress/visits", { lesson })).status).toBe(200);
    server.sessions.setDraining(server.engine, false);
    // No container start in flight when the engine dies (a check container is made lazily): a
    // start cut off leaves a shim behind, which only the engine script's stop clears.
    await server.sessions.get(a.id)!.checkContainer();
    const pid = Number((await readFile(PRIVATE_PID, "utf8")).trim());
    process.kill(pid, "SIGKILL");
    await waitFor(
      () => a.client.call("GET", `/api/sessions/${a.id}`).then((r) => r.body.state as string),
      (state) => state === "engine-lost",
    );
    const lost = await a.client.call("GET", `/api/sessions/${a.id}`);
    expect(lost.body.message).toBe(ENGINE_LOST_REMOTE);
    const reset = await a.client.call("POST", `/api/sessions/${a.id}/reset`, { keepHome: true });
    expect(reset.status, JSON.stringify(reset.body)).toBe(201);
    const fresh = reset.body.id as string;
    expect(server.sessions.get(fresh)!.engine.name).toBe("default");
    const terminal = await TerminalClient.open(server.url, fresh, a.client.cookie);
    try {
      await terminal.waitFor(PROMPT, 20_000);
      await terminal.waitFor(/your files could not be kept/, 10_000);
    } finally {
      await terminal.close();
    }
    const home = await studentShell(server, fresh, "ls -A ~ | grep -c lost.txt || true");
    expect(home.stdout.trim()).toBe("0");
    const progress = await a.client.call("GET", "/api/progress");
    expect(JSON.stringify(progress.body)).toContain(lesson);
    await server.sessions.destroy(fresh, "test done");
  }, 120_000);
});

describe("a remote engine older than API 1.45", () => {
  it("stops the start with the reason (its homes could not be bound)", async () => {
    // A stand-in that answers /version as Docker Engine 24 does (API 1.43): a remote engine
    // must mount a subpath of the home volume (VolumeOptions.Subpath, API 1.45).
    const dir = await mkdtemp(join(tmpdir(), "stowage-old-engine-"));
    const socket = join(dir, "docker.sock");
    const engine = createServer((req, res) => {
      if (/^(\/v[\d.]+)?\/version$/.test(req.url ?? "")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ Version: "24.0.9", ApiVersion: "1.43", MinAPIVersion: "1.12" }));
      } else {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: "not in this stand-in" }));
      }
    });
    await new Promise<void>((resolve) => engine.listen(socket, resolve));
    try {
      await expect(
        startServer({
          port: 0,
          dataDir: join(dir, "data"),
          instance: "toold",
          engines: `unix://${socket}?name=old&subnets=10.245.0.0/16&remote=1`,
        }),
      ).rejects.toThrow(
        `invalid configuration: STOWAGE_ENGINES (engines): unix://${socket} (old): the Docker engine old (24.0.9, API 1.43) is remote and too old: a remote engine needs API 1.45 (Docker Engine 26) or newer`,
      );
    } finally {
      await new Promise((resolve) => engine.close(resolve));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
