/**
 * The platform's state in PostgreSQL (STOWAGE_DATABASE_URL): a server keeps progress, class seats
 * and session owners in a private PostgreSQL cluster (tools/postgres-cluster.ts), and a server
 * started again, with a new empty data folder, finds the learner's progress and seat there.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { unmountBelow } from "../../sandbox/sessions/bind-view.ts";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../sandbox/progress/migrations.ts";
import { publicLearnerId } from "../../sandbox/progress/store.ts";
import { startPostgresCluster, type PostgresCluster } from "../../tools/postgres-cluster.ts";
import { ApiClient, startServerProcess, startTestServer } from "../../tools/sandbox-server.ts";

const TOKEN = "t".repeat(24);
const auth = { authorization: `Bearer ${TOKEN}` };

let cluster: PostgresCluster;
let databaseUrl: string;
let server: Awaited<ReturnType<typeof startTestServer>> | undefined;

beforeAll(async () => {
  cluster = await startPostgresCluster();
  databaseUrl = await cluster.createDatabase();
});
afterAll(async () => {
  await server?.close();
  await cluster?.stop();
});

async function rows(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe("platform state in PostgreSQL", () => {
  it("keeps progress, the class seat and session owners in PostgreSQL across a server restart", async () => {
    server = await startTestServer({ databaseUrl, instructorToken: TOKEN });
    const instance = server.config.instance;
    const teacher = new ApiClient(server.url);
    const made = await teacher.call(
      "POST",
      "/api/instructor/classes",
      { name: "Thursday", seats: 2 },
      auth,
    );
    expect(made.status).toBe(201);
    const code = made.body.code as string;

    const student = new ApiClient(server.url);
    const joined = await student.call("POST", "/api/sessions", { class: code, name: "Ada" });
    expect(joined.status, JSON.stringify(joined.body)).toBe(201);
    const learner = student.cookie.split("=")[1]!;
    // The server's copy of who owns the session: in PostgreSQL, under the public id only.
    expect(
      await rows("SELECT session, learner FROM session_owners WHERE instance = $1", [instance]),
    ).toEqual([{ session: joined.body.id, learner: publicLearnerId(learner) }]);
    expect(
      (await student.call("POST", "/api/progress/visits", { lesson: "02-named-volumes" })).status,
    ).toBe(200);
    expect(
      (
        await student.call("POST", "/api/progress/quizzes", {
          lesson: "02-named-volumes",
          quiz: "q1",
          answer: 1,
          correct: true,
        })
      ).status,
    ).toBe(200);
    const before = (await student.call("GET", "/api/progress")).body;
    expect(before).toMatchObject({
      lastLesson: "02-named-volumes",
      lessons: { "02-named-volumes": { quizzes: { q1: { answer: 1, correct: true } } } },
    });
    // Nothing of it went to the embedded SQLite file.
    expect(existsSync(join(server.dataDir, "progress.sqlite"))).toBe(false);

    await server.close(); // its sessions end: their owners are forgotten
    server = undefined;
    expect(await rows("SELECT * FROM session_owners WHERE instance = $1", [instance])).toEqual([]);

    // Started again with a new, empty data folder: the state can only come from PostgreSQL.
    server = await startTestServer({ databaseUrl, instructorToken: TOKEN });
    const returning = new ApiClient(server.url);
    returning.cookie = student.cookie; // the same browser
    const teacherAgain = new ApiClient(server.url);
    expect((await returning.call("GET", "/api/progress")).body).toEqual(before);
    const view = await teacherAgain.call("GET", `/api/instructor/classes/${code}`, undefined, auth);
    expect(view.status).toBe(200);
    expect(view.body.students.map((s: { name: string }) => s.name)).toEqual(["Ada"]);
    const learners = await teacherAgain.call("GET", "/api/instructor/progress", undefined, auth);
    expect(learners.body.learners).toEqual([
      expect.objectContaining({
        publicId: publicLearnerId(learner),
        lastLesson: "02-named-volumes",
      }),
    ]);
    expect(await rows("SELECT version FROM schema_version")).toEqual([{ version: SCHEMA_VERSION }]);
  }, 120_000);

  it("answers a clear 503 while PostgreSQL is down, stays up, and works again when it is back", async () => {
    server ??= await startTestServer({ databaseUrl, instructorToken: TOKEN });
    const student = new ApiClient(server.url);
    expect(
      (await student.call("POST", "/api/progress/visits", { lesson: "03-bind-mounts" })).status,
    ).toBe(200);
    const before = (await student.call("GET", "/api/progress")).body;
    await cluster.pause();
    try {
      for (const attempt of [
        () => student.call("GET", "/api/progress"),
        () => student.call("POST", "/api/progress/visits", { lesson: "02-named-volumes" }),
      ]) {
        const answer = await attempt();
        expect(answer.status).toBe(503);
        expect(answer.headers.get("retry-after")).toBe("30");
        expect(answer.body.error).toMatch(
          /^the server's database is not answering, so your progress could not be read or saved just now; try again in a minute/,
        );
      }
      // The rest of the server still answers.
      expect((await student.call("GET", "/api/nothing-here")).status).toBe(404);
    } finally {
      await cluster.resume();
    }
    // The pool drops its dead connections and opens new ones: no restart of Stowage needed.
    expect((await student.call("GET", "/api/progress")).body).toEqual(before);
    expect(
      (await student.call("POST", "/api/progress/visits", { lesson: "02-named-volumes" })).status,
    ).toBe(200);
    expect((await student.call("GET", "/api/progress")).body.lastLesson).toBe("02-named-volumes");
  }, 120_000);

  it("keeps progress through a kill -9 of the server: the dead run's owners are forgotten at the next start", async () => {
    const url = await cluster.createDatabase();
    const instance = `p${randomBytes(4).toString("hex")}`;
    const port = await freePort();
    const dirs: string[] = [];
    let child: ChildProcess | undefined;
    const start = async () => {
      mkdirSync(join(process.cwd(), ".data"), { recursive: true });
      const dataDir = await mkdtemp(join(process.cwd(), ".data", "pgkill-")); // a new one each time
      dirs.push(dataDir);
      child = await startChild({ port, instance, dataDir, databaseUrl: url });
    };
    try {
      await start();
      const base = `http://127.0.0.1:${port}`;
      const student = new ApiClient(base);
      const created = await student.call("POST", "/api/sessions");
      expect(created.status).toBe(201);
      expect(
        (
          await student.call("POST", "/api/progress/quizzes", {
            lesson: "02-named-volumes",
            quiz: "q2",
            answer: 0,
            correct: false,
          })
        ).status,
      ).toBe(200);
      const before = (await student.call("GET", "/api/progress")).body;
      const ownerRows = async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          return (
            await client.query("SELECT session FROM session_owners WHERE instance = $1", [instance])
          ).rows;
        } finally {
          await client.end();
        }
      };
      expect(await ownerRows()).toEqual([{ session: created.body.id }]);

      child!.kill("SIGKILL");
      await new Promise((resolve) => child!.once("exit", resolve));
      expect(await ownerRows()).toEqual([{ session: created.body.id }]); // nobody forgot it

      await start(); // removes the dead run's sandboxes, and their owners
      expect(await ownerRows()).toEqual([]);
      expect((await student.call("GET", "/api/progress")).body).toEqual(before);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child!.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      for (const dir of dirs) {
        await unmountBelow(dir);
        await rm(dir, { recursive: true, force: true });
      }
    }
  }, 180_000);
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const port = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

/** `node sandbox/server.ts` as an operator starts it, with STOWAGE_DATABASE_URL. */
async function startChild(options: {
  port: number;
  instance: string;
  dataDir: string;
  databaseUrl: string;
}): Promise<ChildProcess> {
  return startServerProcess({
    STOWAGE_PORT: String(options.port),
    STOWAGE_INSTANCE: options.instance,
    STOWAGE_DATA_DIR: options.dataDir,
    STOWAGE_DATABASE_URL: options.databaseUrl,
    // This test's last SIGTERM is its cleanup: the sessions end (a restart would keep them).
    STOWAGE_STOP_ENDS_SESSIONS: "true",
  });
}
