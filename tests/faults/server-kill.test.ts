/**
 * Restarts keep sandboxes (docs/decisions/restarts-keep-sandboxes.md). The server process dies
 * (kill -9) with live sessions; started again with the same instance and data folder, it adopts
 * every live one: same session id for the learner's cookie, the student's containers, volumes,
 * network and home intact, a working terminal (the docker CLI through a new proxy socket), the
 * progress kept; a session that expired while the server was down is removed, and one whose
 * workstation was removed meanwhile is rebuilt with its home. A second server with another
 * instance, started while the first is down, neither adopts nor removes the first one's objects,
 * and the first one's restart leaves the second's alone. The terminal redraws the screen as last
 * saved (every few seconds while output comes, and at a stop). A SIGTERM keeps the sessions too;
 * with STOWAGE_STOP_ENDS_SESSIONS=true a SIGTERM ends them all.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { unmountBelow } from "../../sandbox/sessions/bind-view.ts";
import { LABEL_INSTANCE, LABEL_SESSION } from "../../sandbox/naming/scope.ts";
import { engineFrom } from "../../sandbox/docker/engine.ts";
import { SCREEN_FILE, SESSION_RECORD_FILE } from "../../sandbox/sessions/session-record.ts";
import { runInWorkstation } from "../../sandbox/sessions/workstation-exec.ts";
import { PROMPT, TerminalClient } from "../../tools/terminal-client.ts";
import {
  removeInstanceCgroupsHere,
  removeInstanceObjects,
  startServerProcess,
} from "../../tools/sandbox-server.ts";

// The engine the tests run on (DOCKER_HOST, as the server under test reads it).
const docker = engineFrom(process.env.DOCKER_HOST || "unix:///var/run/docker.sock", {
  concurrentStarts: 1,
}).docker;
const instance = `f${randomBytes(4).toString("hex")}`;
const otherInstance = `g${randomBytes(4).toString("hex")}`;
const dataDirs: string[] = [];
const children: ChildProcess[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function newDataDir(): Promise<string> {
  mkdirSync(join(process.cwd(), ".data"), { recursive: true });
  const dir = await mkdtemp(join(process.cwd(), ".data", "fault-"));
  dataDirs.push(dir);
  return dir;
}

async function startChild(
  port: number,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const proc = await startServerProcess({
    STOWAGE_PORT: String(port),
    STOWAGE_INSTANCE: instance,
    STOWAGE_DATA_DIR: dataDir,
    ...env,
  });
  children.push(proc);
  return proc;
}

async function stopChild(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  proc.kill(signal);
  await exited;
}

const objectsOf = async (label: string) => {
  const filters = { label: [label] };
  return {
    containers: (await docker.listContainers({ all: true, filters }))
      .map((c) => c.Names[0]!.replace(/^\/stw-[a-f0-9]+-/, ""))
      .sort(),
    volumes: ((await docker.listVolumes({ filters })).Volumes ?? [])
      .map((v) => v.Name.replace(/^stw-[a-f0-9]+-/, ""))
      .sort(),
    networks: (await docker.listNetworks({ filters }))
      .map((n) => n.Name.replace(/^stw-[a-f0-9]+-/, ""))
      .sort(),
  };
};

/** A learner with a cookie, talking to whichever server listens on the port now. */
class Learner {
  cookie = "";
  readonly base: () => string;
  constructor(base: () => string) {
    this.base = base;
  }
  async post(path: string, body?: unknown): Promise<Response> {
    const res = await fetch(`${this.base()}${path}`, {
      method: "POST",
      headers: {
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const set = res.headers.get("set-cookie");
    if (set) this.cookie = set.split(";")[0]!;
    return res;
  }
  async session(): Promise<{ status: number; id: string }> {
    const res = await this.post("/api/sessions");
    return { status: res.status, id: ((await res.json()) as { id: string }).id };
  }
  progress(): Promise<string> {
    return fetch(`${this.base()}/api/progress`, { headers: { cookie: this.cookie } }).then((r) =>
      r.text(),
    );
  }
}

/** Runs a command line in the learner's terminal and returns what it printed up to the next prompt. */
async function inTerminal(term: TerminalClient, command: string, until: RegExp): Promise<string> {
  const from = term.output.length;
  term.type(`${command}\r`);
  await term.waitFor(until, 60_000, from);
  return term.output.slice(from);
}

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) await stopChild(child, "SIGKILL");
  // What a failed run left, and the session cgroups the kept sessions had: only this test's two
  // instances.
  for (const which of [instance, otherInstance]) {
    await removeInstanceObjects(docker, which);
    await removeInstanceCgroupsHere(which);
  }
  for (const dir of dataDirs) {
    await unmountBelow(dir);
    await rm(dir, { recursive: true, force: true });
  }
}, 120_000);

describe("a restarted server adopts its live sessions", () => {
  it("after kill -9 and after SIGTERM: same session, terminal, objects, home and progress; only ended sessions go", async () => {
    const dataDir = await newDataDir();
    const port = await freePort();
    let base = `http://127.0.0.1:${port}`;
    let server = await startChild(port, dataDir);
    const student = new Learner(() => base);
    const leaver = new Learner(() => base);
    const { id } = await student.session();
    const { id: leaverId } = await leaver.session();
    // A third learner's workstation is removed while the server is down (an admin's docker rm).
    const unlucky = new Learner(() => base);
    const { id: unluckyId } = await unlucky.session();
    const workstationOf = async (sessionId: string) =>
      (
        await docker.listContainers({
          all: true,
          filters: { label: [`${LABEL_SESSION}=${sessionId}`, "stowage.role=workstation"] },
        })
      )[0]?.Id;
    const unluckyHome = await runInWorkstation(
      docker,
      (await workstationOf(unluckyId))!,
      "echo kept-home > ~/mine && echo ok",
    );
    expect(unluckyHome.stdout.trim(), unluckyHome.output).toBe("ok");

    let term = await TerminalClient.open(base, id, student.cookie);
    await term.waitFor(PROMPT, 30_000);
    const made = await inTerminal(
      term,
      "docker volume create kept >/dev/null && docker network create net1 >/dev/null && docker run -d --name web -v kept:/d --network net1 busybox sleep 600 >/dev/null && docker run -d --name site -p 8080:80 nginx >/dev/null && echo hi > ~/notes && echo made-$((6*7))",
      /made-42/,
    );
    expect(made).toContain("made-42");
    // Progress to keep: a quiz answer and a visit, recorded by the server that is about to die.
    expect(
      (
        await student.post("/api/progress/quizzes", {
          lesson: "02-named-volumes",
          quiz: "q1",
          answer: 1,
          correct: true,
        })
      ).status,
    ).toBe(200);
    expect(
      (await student.post("/api/progress/visits", { lesson: "02-named-volumes" })).status,
    ).toBe(200);
    const progressBefore = await student.progress();
    expect(JSON.parse(progressBefore)).toMatchObject({
      lastLesson: "02-named-volumes",
      lessons: { "02-named-volumes": { quizzes: { q1: { answer: 1, correct: true } } } },
    });
    const studentObjects = await objectsOf(`${LABEL_SESSION}=${id}`);
    expect(studentObjects.containers).toEqual(["-checks", "-workstation", "site", "web"]);
    expect(studentObjects.volumes).toEqual(["kept"]);
    expect(studentObjects.networks).toEqual(["bridge", "net1"]);
    const leaverContainers = (await objectsOf(`${LABEL_SESSION}=${leaverId}`)).containers;
    expect(leaverContainers).toContain("-workstation");
    // The screen is saved every few seconds while output comes: what a kill -9 finds on disk.
    await inTerminal(term, "echo before-kill-$((6*7))", /before-kill-42/);
    await expect
      .poll(() => readFile(join(dataDir, "sessions", id, SCREEN_FILE), "utf8").catch(() => ""), {
        timeout: 20_000,
        interval: 250,
      })
      .toMatch(/before-kill-42/);

    await stopChild(server, "SIGKILL");
    await term.close();
    // The leaver's session reached its maximum lifetime while the server was down (its record
    // is what a restarted server reads: here the expiry is moved into the past).
    const leaverRecord = join(dataDir, "sessions", leaverId, SESSION_RECORD_FILE);
    const record = JSON.parse(await readFile(leaverRecord, "utf8")) as { expiresAt: number };
    await writeFile(leaverRecord, JSON.stringify({ ...record, expiresAt: Date.now() - 1000 }));
    await docker.getContainer((await workstationOf(unluckyId))!).remove({ force: true });

    // Meanwhile a second server with another instance and its own data folder starts and makes a
    // session: it must neither adopt nor remove the first one's objects.
    const otherPort = await freePort();
    const other = await startChild(otherPort, await newDataDir(), {
      STOWAGE_INSTANCE: otherInstance,
    });
    const neighbour = new Learner(() => `http://127.0.0.1:${otherPort}`);
    const { id: neighbourId } = await neighbour.session();
    expect(await objectsOf(`${LABEL_SESSION}=${id}`)).toEqual(studentObjects);
    expect((await objectsOf(`${LABEL_SESSION}=${leaverId}`)).containers).toEqual(leaverContainers);
    // Its check container is made just after its session is ready: waited for, so the set is whole.
    await expect
      .poll(async () => (await objectsOf(`${LABEL_SESSION}=${neighbourId}`)).containers, {
        timeout: 30_000,
      })
      .toEqual(["-checks", "-workstation"]);
    const neighbourObjects = await objectsOf(`${LABEL_SESSION}=${neighbourId}`);

    server = await startChild(port, dataDir);
    // The same session for the learner's cookie, with everything the student made.
    expect(await student.session()).toEqual({ status: 200, id });
    expect(await objectsOf(`${LABEL_SESSION}=${id}`)).toEqual(studentObjects);
    const [web] = await docker.listContainers({
      filters: { label: [`${LABEL_SESSION}=${id}`], name: [`stw-${id}-web`] },
    });
    expect(web?.State).toBe("running");
    // The expired one is gone, objects and folder; the other instance's session is untouched.
    expect(await objectsOf(`${LABEL_SESSION}=${leaverId}`)).toEqual({
      containers: [],
      volumes: [],
      networks: [],
    });
    expect(existsSync(join(dataDir, "sessions", leaverId))).toBe(false);
    // The one whose workstation was gone gets a rebuilt sandbox with the home it had.
    const rebuilt = await unlucky.session();
    expect(rebuilt.id).not.toBe(unluckyId);
    const home = await runInWorkstation(docker, (await workstationOf(rebuilt.id))!, "cat ~/mine");
    expect(home.stdout.trim(), home.output).toBe("kept-home");
    expect((await readdir(join(dataDir, "sessions"))).sort()).toEqual([id, rebuilt.id].sort());
    expect(await objectsOf(`${LABEL_SESSION}=${neighbourId}`)).toEqual(neighbourObjects);
    expect(await leaver.session().then((s) => s.id)).not.toBe(leaverId); // a new sandbox for them
    expect(await student.progress()).toBe(progressBefore);

    // The terminal works: a new shell, told why, with the docker CLI through the new proxy socket.
    term = await TerminalClient.open(base, id, student.cookie);
    // Redrawn: the screen as last saved, then the server's word on what happened.
    await term.waitFor(/before-kill-42[\s\S]*the course server restarted/, 30_000);
    await term.waitFor(PROMPT, 30_000);
    const listed = await inTerminal(
      term,
      "cat ~/notes; docker ps --format '{{.Names}}'; docker volume ls -q; docker exec web ls /d && echo listed-$((6*7))",
      /listed-42/,
    );
    expect(listed).toMatch(/hi\r?\n/);
    expect(listed).toMatch(/web\r?\n/);
    expect(listed).toMatch(/kept\r?\n/);
    // `-p 8080:80` still answers in the workstation (its forwarder made again on adoption).
    const served = await inTerminal(
      term,
      "curl -s localhost:8080 | sed -n 's/.*<title>\\(.*\\)<\\/title>.*/title=\\1/p'; echo served-$((6*7))",
      /served-42/,
    );
    expect(served).toMatch(/title=Welcome to nginx/);
    // The previous run's shell was ended (nothing could attach to it again): one bash -l left.
    const shells = await inTerminal(term, "echo shells-$(pgrep -xc bash)", /shells-\d+/);
    expect(shells).toMatch(/shells-1\b/);

    // SIGTERM: the sessions stay, and the screen the student had is redrawn after the restart.
    await inTerminal(term, "echo before-sigterm-$((6*7))", /before-sigterm-42/);
    await stopChild(server, "SIGTERM");
    await term.close();
    expect(await objectsOf(`${LABEL_SESSION}=${id}`)).toEqual(studentObjects);
    server = await startChild(port, dataDir, { STOWAGE_STOP_ENDS_SESSIONS: "true" });
    expect(await student.session()).toEqual({ status: 200, id });
    term = await TerminalClient.open(base, id, student.cookie);
    await term.waitFor(/before-sigterm-42[\s\S]*the course server restarted/, 30_000);
    await term.waitFor(PROMPT, 30_000);
    expect(await inTerminal(term, "cat ~/notes", /[\r\n]hi\r\n/)).toMatch(/[\r\n]hi\r\n/);
    await term.close();

    // STOWAGE_STOP_ENDS_SESSIONS=true: a SIGTERM ends every session of the instance.
    await stopChild(server, "SIGTERM");
    expect(await objectsOf(`${LABEL_INSTANCE}=${instance}`)).toEqual({
      containers: [],
      volumes: [],
      networks: [],
    });
    expect(await objectsOf(`${LABEL_SESSION}=${neighbourId}`)).toEqual(neighbourObjects);
    await stopChild(other, "SIGKILL");
    base = "";
  }, 300_000);
});
