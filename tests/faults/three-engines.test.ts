/**
 * A class over three engines, in one story (issue 14, "Tests"): the shared default engine, a
 * private local Engine 26 (scripts/test-engine.sh 26b) and a private Engine 26 used as a remote
 * one (26r with remote=1: the home is a volume there, the docker socket a relay), one server run
 * as an operator runs it (a child process, so it can be killed with -9) with its state in a
 * private PostgreSQL (tools/postgres-cluster.ts).
 *
 * Proves: a class's students are spread over the three engines (at least two on each, by
 * /api/health); each does an exercise with their own docker CLI and passes its checks; for every
 * ordered pair of engines, a student on one cannot inspect, read the logs of, exec into, remove,
 * mount, join the network of or connect to what a student on the other made, by any name it
 * could know (short name, id, id prefix, engine names, workstation, volumes, the remote home
 * volume), nor see it in their events, and sees no secret and no id; everything is still there
 * afterwards (the same connection from the victim's own network does get the secret). Killing 26b's
 * dockerd (kill -9) tells only its students (engine-lost, in the terminal too), the others' shells
 * and docker CLI go on, /api/health shows it down; each of its students starts again on another
 * engine with one click (the page's reset with keepHome) with home and progress. Then the server
 * is killed with -9 and started again: every live session is adopted (same id for the same
 * cookie, containers and secrets there, the terminal redraws the saved screen), and the progress
 * is all in PostgreSQL (read there directly too). When 26b answers again, the restarted server
 * removes what the sessions that ended while it was down had left on it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { appendFile, mkdir, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import pg from "pg";
import {
  ApiClient,
  removeInstanceCgroupsHere,
  removeInstanceObjects,
  startServerProcess,
} from "../../tools/sandbox-server.ts";
import { startPostgresCluster, type PostgresCluster } from "../../tools/postgres-cluster.ts";
import { PROMPT, TerminalClient } from "../../tools/terminal-client.ts";
import { ensureImagesOnEngines } from "../../sandbox/images/build.ts";
import { publicLearnerId } from "../../sandbox/progress/store.ts";
import { unmountBelow } from "../../sandbox/sessions/bind-view.ts";
import { SCREEN_FILE } from "../../sandbox/sessions/session-record.ts";
import { ENGINE_LOST } from "../../sandbox/sessions/session.ts";
import { runInWorkstation, type ExecResult } from "../../sandbox/sessions/workstation-exec.ts";

const run = promisify(execFile);
const TOKEN = "three-engines-token-0123456789";
const auth = { authorization: `Bearer ${TOKEN}` };
const LESSON = "02-named-volumes";
const EXERCISE = "keep-the-data";
const E26B_PID = "/var/lib/stowage-e26b/dockerd.pid";
const ENGINES = [
  "unix:///run/stowage-e26b/docker.sock?name=e26b&subnets=10.234.0.0/16",
  "unix:///run/stowage-e26r/docker.sock?name=e26r&subnets=10.242.0.0/16&remote=1",
].join(",");

type EngineName = "default" | "e26b" | "e26r";
const ENGINE_NAMES: EngineName[] = ["default", "e26b", "e26r"];
const dockers: Record<EngineName, Docker> = {
  default: new Docker(), // DOCKER_HOST, as the server reads it
  e26b: new Docker({ socketPath: "/run/stowage-e26b/docker.sock" }),
  e26r: new Docker({ socketPath: "/run/stowage-e26r/docker.sock" }),
};

const instance = `m${randomBytes(4).toString("hex")}`;
const serverLog = join(process.cwd(), "test-artifacts", `three-engines-${instance}.log`);
let cluster: PostgresCluster | undefined;
let databaseUrl = "";
let dataDir = "";
let port = 0;
let base = "";
let server: ChildProcess | undefined;
const started: Partial<Record<"26b" | "26r", boolean>> = {};

const engineScript = (engine: "26b" | "26r", verb: "start" | "stop") =>
  run("bash", ["scripts/test-engine.sh", engine, verb], { timeout: 600_000 });

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const found = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(found));
    });
  });
}

/** The server as an operator runs it: same instance, data folder, database and engines each time. */
async function startServer(): Promise<void> {
  server = await startServerProcess(
    {
      STOWAGE_PORT: String(port),
      STOWAGE_INSTANCE: instance,
      STOWAGE_DATA_DIR: dataDir,
      STOWAGE_DATABASE_URL: databaseUrl,
      STOWAGE_INSTRUCTOR_TOKEN: TOKEN,
      STOWAGE_ENGINES: ENGINES,
      STOWAGE_LOG_LEVEL: "info", // placements and adoptions, for a failed run's reader
      // Placement puts engines whose host has a session's memory cap free first: a small cap
      // keeps the spread from hanging on what other processes of this shared machine hold.
      STOWAGE_SESSION_MEMORY_MB: "256",
    },
    // Its log kept in test-artifacts/ for a failed run's reader.
    { onLog: (d) => void appendFile(serverLog, d).catch(() => undefined) },
  );
}

async function stopServer(signal: NodeJS.Signals): Promise<void> {
  const proc = server;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  proc.kill(signal);
  await exited;
}

beforeAll(async () => {
  for (const engine of ["26b", "26r"] as const) {
    const { stdout } = await engineScript(engine, "start");
    started[engine] = stdout.includes("STOWAGE_TEST_ENGINE_STARTED=1");
  }
  // The server brings the engines' course images up to date at start; done here first, so a
  // fresh engine's copies do not count against the server's start time.
  await ensureImagesOnEngines(
    ENGINE_NAMES.map((name) => ({ name, docker: dockers[name] })),
    { progress: null },
  );
  cluster = await startPostgresCluster();
  databaseUrl = await cluster.createDatabase();
  mkdirSync(join(process.cwd(), ".data"), { recursive: true });
  await mkdir(join(process.cwd(), "test-artifacts"), { recursive: true });
  dataDir = await mkdtemp(join(process.cwd(), ".data", "three-"));
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  await startServer();
}, 600_000);

afterAll(async () => {
  await stopServer("SIGTERM");
  // 26b started again if the run stopped while it was killed, so its leftovers can be removed.
  await engineScript("26b", "start");
  for (const name of ENGINE_NAMES) await removeInstanceObjects(dockers[name], instance);
  await removeInstanceCgroupsHere(instance); // all three engines are on this host
  for (const engine of ["26b", "26r"] as const)
    if (started[engine]) await engineScript(engine, "stop");
  await cluster?.stop();
  if (dataDir) {
    await unmountBelow(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  }
}, 180_000);

interface Student {
  n: number;
  client: ApiClient;
  id: string;
  /** The engine the student's first session was placed on. */
  engine: EngineName;
  secret: string;
  homeSecret: string;
  /** What the test reads of the student's objects on the engine (the attacker's knowledge). */
  vault: { id: string; ip: string };
  workstation: { id: string; name: string };
  networks: { id: string; name: string }[];
  terminal?: TerminalClient;
}
const students: Student[] = [];
let classCode = "";
/** The sessions left on 26b when it was killed (their students started again elsewhere). */
const lostSessions: string[] = [];
/** When the class began (seconds): the attackers' `docker events --since`. */
let since = 0;

async function waitFor<T>(probe: () => Promise<T> | T, ok: (v: T) => boolean, ms = 30_000) {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    value = await probe();
  }
  expect(ok(value), JSON.stringify(value)).toBe(true);
  return value;
}

/** The engine and workstation of a session, found by its labels as an operator would. */
async function locate(id: string): Promise<{ engine: EngineName; workstation: string }> {
  for (const engine of ENGINE_NAMES) {
    const found = await dockers[engine]
      .listContainers({
        all: true,
        filters: { label: [`stowage.session=${id}`, "stowage.role=workstation"] },
      })
      .catch(() => []); // a killed engine has none to show
    if (found[0]) return { engine, workstation: found[0].Id };
  }
  throw new Error(`no workstation of session ${id} on any engine`);
}

/** A command line in the student's workstation, as the student (their own docker CLI). */
async function shell(id: string, script: string, timeoutMs = 60_000): Promise<ExecResult> {
  const { engine, workstation } = await locate(id);
  return runInWorkstation(dockers[engine], workstation, script, { timeoutMs });
}

async function health() {
  return (await new ApiClient(base).call("GET", "/api/health", undefined, auth)).body as {
    ok: boolean;
    engines: { name: EngineName; state: string; sessions: number }[];
  };
}
const stateOf = async (name: EngineName) =>
  (await health()).engines.find((e) => e.name === name)?.state;

/** Types a command line in the terminal; resolves with what it printed up to its marker. */
async function typed(term: TerminalClient, command: string, marker: string): Promise<string> {
  const from = term.output.length;
  term.type(`${command}; echo ${marker}-$((6*7))\r`);
  await term.waitFor(new RegExp(`${marker}-42`), 60_000, from);
  return term.output.slice(from);
}

async function openTerminal(student: Student): Promise<TerminalClient> {
  const term = await TerminalClient.open(base, student.id, student.client.cookie);
  await term.waitFor(PROMPT, 60_000);
  student.terminal = term;
  return term;
}

async function checkTasks(student: Student) {
  const { status, body } = await student.client.call("POST", `/api/sessions/${student.id}/checks`, {
    lesson: LESSON,
    exercise: EXERCISE,
  });
  expect(status, JSON.stringify(body)).toBe(200);
  return body.tasks as { id: string; passed: boolean; message: string }[];
}

async function dbRows(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const learnerOf = (student: Student) => publicLearnerId(student.client.cookie.split("=")[1]!);
const onEngine = (engine: EngineName) => students.filter((s) => s.engine === engine);

describe("a class over three engines", () => {
  it("is spread over the three engines, at least two students on each", async () => {
    since = Math.floor(Date.now() / 1000) - 1;
    const teacher = new ApiClient(base);
    const made = await teacher.call(
      "POST",
      "/api/instructor/classes",
      { name: "Three engines", seats: 6 },
      auth,
    );
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    classCode = made.body.code;
    // The class's sandboxes are warmed before the students come, placed over the engines.
    await waitFor(
      async () =>
        (await teacher.call("GET", `/api/instructor/classes/${classCode}`, undefined, auth)).body
          .warm as number,
      (warm) => warm === 6,
      120_000,
    );
    for (let n = 1; n <= 6; n++) {
      const client = new ApiClient(base);
      const joined = await client.call("POST", "/api/sessions", {
        class: classCode,
        name: `Student ${n}`,
      });
      expect(joined.status, JSON.stringify(joined.body)).toBe(201);
      const id = joined.body.id as string;
      const { engine } = await locate(id);
      students.push({
        n,
        client,
        id,
        engine,
        secret: `s3cret-${n}-${randomBytes(6).toString("hex")}`,
        homeSecret: `home-${n}-${randomBytes(6).toString("hex")}`,
        vault: { id: "", ip: "" },
        workstation: { id: "", name: "" },
        networks: [],
      });
    }
    const report = await health();
    expect(report.ok).toBe(true);
    for (const name of ENGINE_NAMES) {
      const listed = report.engines.find((e) => e.name === name);
      expect(listed?.state, name).toBe("up");
      expect(listed?.sessions, `${name} (placements in ${serverLog})`).toBeGreaterThanOrEqual(2);
      expect(listed?.sessions, name).toBe(onEngine(name).length);
    }
  }, 180_000);

  it("lets each student work on their engine with their own docker CLI and pass an exercise", async () => {
    const solution = await readFile(
      join("lessons", LESSON, "exercises", EXERCISE, "solution.sh"),
      "utf8",
    );
    await Promise.all(
      students.map(async (s) => {
        const made = await shell(
          s.id,
          `${solution}
docker volume create secret-${s.n} >/dev/null
docker run --rm -v secret-${s.n}:/data busybox sh -c 'echo ${s.secret} > /data/secret.txt'
docker run -d --name vault-${s.n} -v secret-${s.n}:/data busybox sh -c 'cat /data/secret.txt; exec nc -ll -p 8080 -e cat /data/secret.txt' >/dev/null
echo ${s.homeSecret} > ~/notes.txt
echo made`,
          180_000,
        );
        expect(made.stdout, made.output).toMatch(/made\n$/);
        const tasks = await checkTasks(s);
        expect(tasks.length, JSON.stringify(tasks)).toBe(3);
        expect(tasks.filter((t) => !t.passed)).toEqual([]);
      }),
    );
    // What a neighbour could learn of each student's objects: read from the engine itself.
    for (const s of students) {
      const docker = dockers[s.engine];
      const vault = await docker.getContainer(`stw-${s.id}-vault-${s.n}`).inspect();
      expect(vault.State.Running).toBe(true);
      const ip = Object.values(vault.NetworkSettings.Networks)[0]!.IPAddress;
      s.vault = { id: vault.Id, ip };
      const { workstation } = await locate(s.id);
      const ws = await docker.getContainer(workstation).inspect();
      s.workstation = { id: ws.Id, name: ws.Name.replace(/^\//, "") };
      s.networks = (
        await docker.listNetworks({ filters: { label: [`stowage.session=${s.id}`] } })
      ).map((n) => ({ id: n.Id, name: n.Name }));
      expect(s.networks.length).toBeGreaterThan(0);
      // The vault answers on its own network, to a container and to the shell: what the
      // attempts from another engine below must not reach.
      const own = await shell(
        s.id,
        `docker exec reader nc -w 2 ${ip} 8080; timeout 5 bash -c 'cat </dev/tcp/${ip}/8080'`,
      );
      expect(own.stdout, own.output).toBe(`${s.secret}\n${s.secret}\n`);
    }
  }, 240_000);

  it("keeps every student away from what a student on another engine made, for every pair of engines", async () => {
    const pairs: [Student, Student][] = [];
    for (const from of ENGINE_NAMES)
      for (const to of ENGINE_NAMES)
        if (from !== to) pairs.push([onEngine(from)[0]!, onEngine(to)[onEngine(to).length - 1]!]);
    await Promise.all(
      pairs.map(async ([attacker, victim]) => {
        const refs = [
          `vault-${victim.n}`,
          victim.vault.id,
          victim.vault.id.slice(0, 12),
          `stw-${victim.id}-vault-${victim.n}`,
          victim.workstation.name,
          victim.workstation.id,
        ];
        const volumes = [
          `secret-${victim.n}`,
          `stw-${victim.id}-secret-${victim.n}`,
          `stw-${victim.id}-app-data`,
          `stw-${victim.id}--home`,
        ];
        const networks = victim.networks.flatMap((n) => [n.name, n.id]);
        const attempt = await shell(
          attacker.id,
          [
            `for r in ${refs.join(" ")}; do docker inspect $r; docker logs $r; docker exec $r cat /data/secret.txt; docker rm -f $r; done`,
            `for v in ${volumes.join(" ")}; do docker volume inspect $v; docker volume rm -f $v; docker run --rm -v $v:/x busybox cat /x/secret.txt /x/notes.txt; done`,
            `for n in ${networks.join(" ")}; do docker network inspect $n; docker network connect $n vault-${attacker.n}; done`,
            // (The workstation has no nc: bash's /dev/tcp.)
            `timeout 5 bash -c 'cat </dev/tcp/${victim.vault.ip}/8080' || echo unreachable-from-shell`,
            `docker exec vault-${attacker.n} nc -w 2 ${victim.vault.ip} 8080 || echo unreachable-from-container`,
            // What happened on the engine since the class began, as the attacker's events show it.
            `docker events --since ${since} --until $(date +%s) --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'`,
            "echo attempts-done",
          ].join("; "),
          180_000,
        );
        const pair = `${attacker.engine} -> ${victim.engine}: ${attempt.output}`;
        expect(attempt.stdout, pair).toMatch(/attempts-done\n$/);
        expect(attempt.output, pair).not.toContain(victim.secret);
        expect(attempt.output, pair).not.toContain(victim.homeSecret);
        expect(attempt.output, pair).not.toMatch(/"Id":/);
        // No id but the ones the attacker typed (an error message may repeat them).
        const rest = refs
          .concat(networks)
          .reduce((text, ref) => text.replaceAll(ref, ""), attempt.output);
        expect(rest, pair).not.toMatch(/[0-9a-f]{64}/);
        expect(attempt.stdout, pair).toContain("unreachable-from-shell");
        expect(attempt.stdout, pair).toContain("unreachable-from-container");
        expect(attempt.stdout, pair).not.toContain(`vault-${victim.n}`);
      }),
    );
    // Everything the victims made is still there, and still theirs.
    for (const s of students) {
      const docker = dockers[s.engine];
      expect((await docker.getContainer(s.vault.id).inspect()).State.Running).toBe(true);
      await docker.getVolume(`stw-${s.id}-secret-${s.n}`).inspect();
      for (const n of s.networks) await docker.getNetwork(n.id).inspect();
      const still = await shell(
        s.id,
        `docker exec vault-${s.n} cat /data/secret.txt; cat ~/notes.txt`,
      );
      expect(still.stdout, still.output).toBe(`${s.secret}\n${s.homeSecret}\n`);
    }
    // The remote home volumes too.
    for (const s of onEngine("e26r")) await dockers.e26r.getVolume(`stw-${s.id}--home`).inspect();
  }, 240_000);

  it("tells only the killed engine's students, who start again elsewhere with one click, files and progress", async () => {
    await Promise.all(
      students.map(async (s) => typed(await openTerminal(s), "echo ready", `ready-${s.n}`)),
    );
    const progressBefore = new Map<number, unknown>();
    for (const s of students)
      progressBefore.set(s.n, (await s.client.call("GET", "/api/progress")).body);

    const pid = Number((await readFile(E26B_PID, "utf8")).trim());
    process.kill(pid, "SIGKILL");
    await waitFor(
      () => stateOf("e26b"),
      (state) => state === "down",
    );

    await Promise.all(
      onEngine("e26b").map(async (s) => {
        await s.terminal!.waitFor(/stopped answering/, 20_000);
        expect(s.terminal!.controls).toContainEqual({ type: "notice", message: ENGINE_LOST });
        const lost = await s.client.call("GET", `/api/sessions/${s.id}`);
        expect(lost.body).toMatchObject({ state: "engine-lost", message: ENGINE_LOST });
      }),
    );
    // The others work on: their terminal echoes and their docker CLI answers.
    await Promise.all(
      students
        .filter((x) => x.engine !== "e26b")
        .map(async (s) => {
          const out = await typed(
            s.terminal!,
            `docker exec vault-${s.n} cat /data/secret.txt`,
            `alive-${s.n}`,
          );
          expect(out).toContain(s.secret);
          expect(s.terminal!.output).not.toContain("stopped answering");
        }),
    );
    const report = await health();
    expect(report.ok).toBe(true);
    expect(report.engines.map((e) => [e.name, e.state])).toEqual([
      ["default", "up"],
      ["e26b", "down"],
      ["e26r", "up"],
    ]);
    // The teacher's dashboard marks exactly those students' sandboxes lost, naming the engine.
    const view = await new ApiClient(base).call(
      "GET",
      `/api/instructor/classes/${classCode}`,
      undefined,
      auth,
    );
    const lostOnDashboard = (view.body.students as { name: string; engineLost?: string }[])
      .filter((row) => row.engineLost !== undefined)
      .map((row) => [row.name, row.engineLost])
      .sort();
    expect(lostOnDashboard).toEqual(
      onEngine("e26b")
        .map((x) => [`Student ${x.n}`, "e26b"])
        .sort(),
    );

    // One click each, at the same time: the page's "Reset my sandbox" with "keep my files"
    // ticked (its default).
    await Promise.all(
      onEngine("e26b").map(async (s) => {
        await s.terminal!.close();
        const reset = await s.client.call("POST", `/api/sessions/${s.id}/reset`, {
          keepHome: true,
        });
        expect(reset.status, JSON.stringify(reset.body)).toBe(201);
        const again = reset.body.id as string;
        expect(again).not.toBe(s.id);
        // The page then asks for its session: the new one.
        expect(await s.client.call("POST", "/api/sessions")).toMatchObject({
          status: 200,
          body: { id: again },
        });
        lostSessions.push(s.id);
        s.id = again;
        expect((await locate(again)).engine).not.toBe("e26b");
        const home = await shell(
          again,
          `cat ~/notes.txt && docker run -d --name again-${s.n} busybox sleep 3600 >/dev/null && echo started`,
          120_000,
        );
        expect(home.stdout, home.output).toBe(`${s.homeSecret}\nstarted\n`);
        expect((await s.client.call("GET", "/api/progress")).body).toEqual(progressBefore.get(s.n));
        await openTerminal(s);
      }),
    );
  }, 240_000);

  it("adopts every live session after a kill -9 of the server: same session, containers, a redrawn terminal, progress in PostgreSQL", async () => {
    // What the kill -9 finds on disk: each terminal's screen, saved every few seconds.
    await Promise.all(
      students.map(async (s) => {
        await typed(s.terminal!, "echo before-kill", `mark-${s.n}`);
        await waitFor(
          () => readFile(join(dataDir, "sessions", s.id, SCREEN_FILE), "utf8").catch(() => ""),
          (screen) => screen.includes(`mark-${s.n}-42`),
        );
      }),
    );
    const progressBefore = new Map<number, unknown>();
    for (const s of students)
      progressBefore.set(s.n, (await s.client.call("GET", "/api/progress")).body);
    const placed = new Map(
      await Promise.all(students.map(async (s) => [s.n, (await locate(s.id)).engine] as const)),
    );

    await stopServer("SIGKILL");
    await Promise.all(students.map((s) => s.terminal!.close()));
    await startServer(); // 26b is still down: its side waits for it
    await waitFor(
      async () => (await health()).engines.map((e) => `${e.name} ${e.state}`),
      (states) => states.join(", ") === "default up, e26b down, e26r up",
    );

    await Promise.all(
      students.map(async (s) => {
        expect(await s.client.call("POST", "/api/sessions")).toMatchObject({
          status: 200,
          body: { id: s.id },
        });
        expect((await locate(s.id)).engine).toBe(placed.get(s.n));
        const kept =
          s.engine === "e26b"
            ? await shell(s.id, `docker ps --format '{{.Names}}'; cat ~/notes.txt`)
            : await shell(s.id, `docker exec vault-${s.n} cat /data/secret.txt; cat ~/notes.txt`);
        expect(kept.stdout, kept.output).toBe(
          s.engine === "e26b"
            ? `again-${s.n}\n${s.homeSecret}\n`
            : `${s.secret}\n${s.homeSecret}\n`,
        );
        // Redrawn: the screen as saved before the kill, then the server's word on what happened.
        const term = await TerminalClient.open(base, s.id, s.client.cookie);
        s.terminal = term;
        await term.waitFor(
          new RegExp(`mark-${s.n}-42[\\s\\S]*the course server restarted`),
          30_000,
        );
        await term.waitFor(PROMPT, 30_000);
        expect(await typed(term, "cat ~/notes.txt", `after-${s.n}`)).toContain(s.homeSecret);
        await term.close();
        expect((await s.client.call("GET", "/api/progress")).body).toEqual(progressBefore.get(s.n));
      }),
    );

    // In PostgreSQL itself: every student's passed tasks, the class's members, the live owners.
    const passes = await dbRows(
      "SELECT learner, task FROM task_passes WHERE lesson = $1 AND exercise = $2",
      [LESSON, EXERCISE],
    );
    for (const s of students)
      expect(
        passes
          .filter((r) => r.learner === learnerOf(s))
          .map((r) => r.task)
          .sort(),
      ).toEqual(["reader-finds-it", "volume-exists", "writer-gone"]);
    const members = await dbRows("SELECT learner FROM class_members WHERE class = $1", [classCode]);
    expect(members.map((r) => r.learner).sort()).toEqual(students.map(learnerOf).sort());
    const owners = await dbRows("SELECT session, learner FROM session_owners WHERE instance = $1", [
      instance,
    ]);
    expect(owners.map((r) => `${r.session} ${r.learner}`).sort()).toEqual(
      students.map((s) => `${s.id} ${learnerOf(s)}`).sort(),
    );
    // Every session is counted on the engine it is on again.
    const counted = (await health()).engines.map((e) => [e.name, e.sessions]);
    expect(counted).toEqual(
      ENGINE_NAMES.map((name) => [name, [...placed.values()].filter((e) => e === name).length]),
    );
    const dashboard = await new ApiClient(base).call(
      "GET",
      `/api/instructor/classes/${classCode}`,
      undefined,
      auth,
    );
    expect(dashboard.body.summary[`${LESSON}/${EXERCISE}/volume-exists`]).toMatchObject({
      passed: 6,
    });
  }, 240_000);

  it("removes what the ended sessions left on 26b once it answers again", async () => {
    await engineScript("26b", "start");
    await waitFor(
      () => stateOf("e26b"),
      (state) => state === "up",
    );
    const filters = { label: [`stowage.instance=${instance}`] };
    await waitFor(
      async () => ({
        containers: (await dockers.e26b.listContainers({ all: true, filters })).length,
        volumes: ((await dockers.e26b.listVolumes({ filters })).Volumes ?? []).length,
        networks: (await dockers.e26b.listNetworks({ filters })).length,
      }),
      (left) => left.containers + left.volumes + left.networks === 0,
    );
    // And their session cgroups on this host, busy until those containers went: removed by the
    // restarted server once 26b answered (its start-up removal of ended sessions, on that engine).
    const memoryGroups = existsSync("/sys/fs/cgroup/cgroup.controllers")
      ? `/sys/fs/cgroup/stowage/${instance}`
      : `/sys/fs/cgroup/memory/stowage/${instance}`;
    expect(lostSessions.length).toBe(2);
    await waitFor(
      async () =>
        (await readdir(memoryGroups).catch(() => [] as string[])).filter((d) =>
          lostSessions.includes(d),
        ),
      (left) => left.length === 0,
    );
    // The live sessions elsewhere are untouched.
    for (const s of students) expect((await locate(s.id)).engine).not.toBe("e26b");
  }, 120_000);
});
