import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startPostgresCluster, type PostgresCluster } from "../../tools/postgres-cluster.ts";
import { openClassStore } from "../classes/class-store.ts";
import { Router } from "../http/router.ts";
import type { Database } from "./database.ts";
import { copyPlatformState } from "./copy-store.ts";
import { SCHEMA_VERSION } from "./migrations.ts";
import { openPostgresDatabase } from "./postgres-database.ts";
import { openProgressStore } from "./progress-store.ts";
import { registerProgressRoutes } from "./routes.ts";
import { sessionOwners } from "./session-owners.ts";
import { openSqliteDatabase } from "./sqlite-database.ts";
import { publicLearnerId, type ProgressStore } from "./store.ts";

const A = "a".repeat(32);
const B = "b".repeat(32);

/** One database of a backend: opened as often as a test likes (a server restart), removed afterwards. */
interface Place {
  connect(): Promise<Database>;
  cleanup(): void;
}

// The suite runs against both backends: SQLite files in a temp folder, and databases in a private
// PostgreSQL cluster started here (tools/postgres-cluster.ts).
let cluster: PostgresCluster | undefined;
beforeAll(async () => {
  cluster = await startPostgresCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

const places = {
  async sqlite(): Promise<Place> {
    const dir = mkdtempSync(join(tmpdir(), "stowage-progress-"));
    const file = join(dir, "nested", "progress.sqlite");
    return {
      connect: async () => openSqliteDatabase(file),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  async postgres(): Promise<Place> {
    const url = await cluster!.createDatabase();
    return {
      // A broken idle connection (the restart test pauses the cluster) is replaced by the pool.
      connect: () => openPostgresDatabase(url, () => undefined),
      cleanup: () => undefined, // the cluster goes, and its databases with it
    };
  },
};

/** Every row of every platform table, as text: what a copy of the database would show. */
async function everything(db: Database): Promise<string> {
  const tables = [
    "task_passes",
    "quiz_answers",
    "visits",
    "task_checks",
    "classes",
    "class_members",
    "session_owners",
  ];
  return JSON.stringify(await Promise.all(tables.map((t) => db.all(`SELECT * FROM ${t}`))));
}

describe.each(["sqlite", "postgres"] as const)(
  "platform store on %s (a real database)",
  (backend) => {
    let place: Place;
    let store: ProgressStore;
    const open = async () => openProgressStore(await place.connect());
    beforeEach(async () => {
      place = await places[backend]();
      store = await open();
    });
    afterEach(async () => {
      await store.close();
      place.cleanup();
    });

    it("records only passed tasks and never un-passes them", async () => {
      expect(
        await store.recordTasks(A, "02-named-volumes", "keep-the-data", [
          { id: "volume-exists", passed: true },
          { id: "writer-gone", passed: false },
        ]),
      ).toBe(1);
      expect(
        await store.recordTasks(A, "02-named-volumes", "keep-the-data", [
          { id: "volume-exists", passed: false },
          { id: "writer-gone", passed: true },
        ]),
      ).toBe(1);
      expect(
        await store.recordTasks(A, "02-named-volumes", "keep-the-data", [
          { id: "writer-gone", passed: true },
        ]),
      ).toBe(0);
      const tasks = (await store.get(A)).lessons["02-named-volumes"]!.tasks;
      expect(Object.keys(tasks).sort()).toEqual([
        "keep-the-data/volume-exists",
        "keep-the-data/writer-gone",
      ]);
      expect((await store.get(B)).lessons).toEqual({});
    });

    it("takes the passed task ids, as the checks route gives them", async () => {
      expect(
        await store.recordTasks(A, "02-named-volumes", "tidy-up", ["cache-removed", "app-kept"]),
      ).toBe(2);
      expect(await store.recordTasks(A, "02-named-volumes", "tidy-up", ["cache-removed"])).toBe(0);
      expect(await store.recordTasks(A, "02-named-volumes", "tidy-up", [])).toBe(0);
      expect(Object.keys((await store.get(A)).lessons["02-named-volumes"]!.tasks).sort()).toEqual([
        "tidy-up/app-kept",
        "tidy-up/cache-removed",
      ]);
    });

    it("keeps the first committed quiz answer", async () => {
      await store.recordQuiz(A, {
        lesson: "02-named-volumes",
        quiz: "q1",
        answer: 1,
        correct: false,
      });
      await store.recordQuiz(A, {
        lesson: "02-named-volumes",
        quiz: "q1",
        answer: 0,
        correct: true,
      });
      expect((await store.get(A)).lessons["02-named-volumes"]!.quizzes.q1).toMatchObject({
        answer: 1,
        correct: false,
      });
    });

    it("knows the last visited lesson", async () => {
      await store.recordVisit(A, "01-containers-are-ephemeral");
      await store.recordVisit(A, "02-named-volumes");
      expect((await store.get(A)).lastLesson).toBe("02-named-volumes");
      await store.recordVisit(A, "01-containers-are-ephemeral");
      const p = await store.get(A);
      expect(p.lastLesson).toBe("01-containers-are-ephemeral");
      expect(p.lessons["02-named-volumes"]!.visitedAt).toBeTypeOf("string");
    });

    it("counts attempts until a task passes, failures in a row, and the last failure message", async () => {
      const L = "02-named-volumes",
        E = "keep-the-data";
      await store.recordAttempts(A, L, E, [{ id: "t", passed: false, message: "no volume" }]);
      await store.recordAttempts(A, L, E, [{ id: "t", passed: false, message: "still no volume" }]);
      expect(await store.taskChecks(publicLearnerId(A))).toEqual([
        expect.objectContaining({
          task: "t",
          attempts: 2,
          failuresInRow: 2,
          lastPassed: false,
          lastMessage: "still no volume",
        }),
      ]);
      // The checks route records attempts, then the pass.
      await store.recordAttempts(A, L, E, [{ id: "t", passed: true, message: "" }]);
      await store.recordTasks(A, L, E, ["t"]);
      await store.recordAttempts(A, L, E, [{ id: "t", passed: true, message: "" }]);
      const [check] = await store.taskChecks(publicLearnerId(A));
      expect(check).toMatchObject({
        attempts: 3,
        failuresInRow: 0,
        lastPassed: true,
        lastMessage: "",
      });
      expect(check!.passedAt).toBeTypeOf("string");
      expect(await store.taskChecks(publicLearnerId(B))).toEqual([]);
    });

    it("survives closing and opening again (a server restart)", async () => {
      await store.recordVisit(A, "02-named-volumes");
      await store.recordTasks(A, "02-named-volumes", "tidy-up", [
        { id: "cache-removed", passed: true },
      ]);
      await store.recordQuiz(B, {
        lesson: "01-containers-are-ephemeral",
        quiz: "qx",
        answer: 0,
        correct: true,
      });
      await store.close();
      store = await open();
      const a = await store.get(A);
      expect(a.lastLesson).toBe("02-named-volumes");
      expect(a.lessons["02-named-volumes"]!.tasks["tidy-up/cache-removed"]).toBeTypeOf("string");
      const rows = await store.listAll();
      expect(rows.map((r) => r.publicId).sort()).toEqual(
        [publicLearnerId(A), publicLearnerId(B)].sort(),
      );
      expect(rows.find((r) => r.publicId === publicLearnerId(A))!.exercises).toEqual({
        "02-named-volumes/tidy-up": ["cache-removed"],
      });
      expect(rows.find((r) => r.publicId === publicLearnerId(B))!.quizzes).toEqual({
        answered: 1,
        correct: 1,
      });
    });

    it("never stores the cookie value: neither the instructor rows nor any table hold it", async () => {
      await store.recordVisit(A, "02-named-volumes");
      await store.recordTasks(A, "02-named-volumes", "tidy-up", ["cache-removed"]);
      await store.recordQuiz(A, {
        lesson: "02-named-volumes",
        quiz: "q1",
        answer: 1,
        correct: true,
      });
      await store.recordAttempts(A, "02-named-volumes", "tidy-up", [
        { id: "cache-removed", passed: true, message: "" },
      ]);
      const classes = openClassStore(store.database);
      await classes.create({
        code: "ABCDEF",
        name: "Tuesday",
        seats: 2,
        startsAt: new Date().toISOString(),
        endsAt: new Date(Date.now() + 3600_000).toISOString(),
        createdAt: new Date().toISOString(),
      });
      await classes.join("ABCDEF", A, "Ada");
      await sessionOwners(store.database).record("main", "0123456789ab", A);
      expect(JSON.stringify(await store.listAll())).not.toContain(A);
      const dump = await everything(store.database);
      expect(dump).toContain(publicLearnerId(A));
      expect(dump).not.toContain(A);
    });

    it("is at the newest schema version, and opening again changes nothing", async () => {
      expect(await store.schemaVersion()).toBe(SCHEMA_VERSION);
      await store.recordVisit(A, "02-named-volumes");
      await store.close();
      store = await open();
      expect(await store.schemaVersion()).toBe(SCHEMA_VERSION);
      expect((await store.get(A)).lastLesson).toBe("02-named-volumes");
    });

    it("refuses a database made by a newer server, saying so", async () => {
      const db = store.database;
      if (db.dialect === "sqlite") await db.exec("PRAGMA user_version = 99");
      else await db.run("UPDATE schema_version SET version = 99");
      await store.close();
      const db2 = await place.connect();
      await expect(openProgressStore(db2)).rejects.toThrow(
        `the platform database is at schema version 99, newer than this server's ${SCHEMA_VERSION}: run a newer server`,
      );
      // Put back as this server left it: it opens again.
      if (db2.dialect === "sqlite") await db2.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      else await db2.run("UPDATE schema_version SET version = ?", [SCHEMA_VERSION]);
      await db2.close();
      store = await open();
    });

    it("seats a class's members up to its seats, even when they all join at once", async () => {
      const classes = openClassStore(store.database);
      const startsAt = new Date().toISOString();
      await classes.create({
        code: "AC3K7X",
        name: "Tuesday",
        seats: 3,
        startsAt,
        endsAt: new Date(Date.now() + 3600_000).toISOString(),
        createdAt: startsAt,
      });
      const learners = Array.from({ length: 8 }, (_, i) => String(i).repeat(32));
      const joins = await Promise.all(learners.map((l) => classes.join("AC3K7X", l, undefined)));
      expect(joins.filter((j) => "member" in j)).toHaveLength(3);
      expect(joins.filter((j) => "full" in j)).toHaveLength(5);
      const members = await classes.members("AC3K7X");
      expect(members).toHaveLength(3);
      // Joining again finds the seat (and takes a new name); a seat is found by the learner's cookie.
      const seated = learners[joins.findIndex((j) => "member" in j)]!;
      const again = await classes.join("AC3K7X", seated, "Grace");
      expect(again).toMatchObject({ joined: false, member: { name: "Grace" } });
      expect((await classes.seatOf(seated, new Date()))?.member.name).toBe("Grace");
      expect((await classes.active(new Date())).map((c) => c.code)).toEqual(["AC3K7X"]);
      await classes.end("AC3K7X", new Date());
      expect(await classes.active(new Date(Date.now() + 1))).toEqual([]);
      expect(await classes.seatOf(seated, new Date(Date.now() + 1))).toBeUndefined();
    });

    it("keeps which learner owns which session, per server instance", async () => {
      const owners = sessionOwners(store.database);
      await owners.record("main", "aaaaaaaaaaaa", A);
      await owners.record("main", "bbbbbbbbbbbb", B);
      await owners.record("other", "cccccccccccc", A);
      expect((await owners.list("main")).map((o) => [o.session, o.publicId])).toEqual([
        ["aaaaaaaaaaaa", publicLearnerId(A)],
        ["bbbbbbbbbbbb", publicLearnerId(B)],
      ]);
      expect(await owners.owns("main", "aaaaaaaaaaaa", A)).toBe(true);
      expect(await owners.owns("main", "aaaaaaaaaaaa", B)).toBe(false);
      expect(await owners.owns("main", "cccccccccccc", A)).toBe(false); // another instance's
      await store.close();
      store = await open();
      const reopened = sessionOwners(store.database);
      expect(await reopened.owns("main", "bbbbbbbbbbbb", B)).toBe(true);
      await reopened.forget("bbbbbbbbbbbb");
      expect((await reopened.list("main")).map((o) => o.session)).toEqual(["aaaaaaaaaaaa"]);
      await reopened.forgetInstance("main");
      expect(await reopened.list("main")).toEqual([]);
      expect((await reopened.list("other")).map((o) => o.session)).toEqual(["cccccccccccc"]);
    });
  },
);

// A SQLite file belongs to one server process (its data folder is claimed); a PostgreSQL database
// may be shared by several servers, which all migrate it on start.
describe("PostgreSQL shared by several servers", () => {
  it("migrates once when several servers open a new database at the same time", async () => {
    const fresh = await places.postgres();
    // Connected first, then all opened in the same tick: their migrations race for real.
    const databases = await Promise.all(Array.from({ length: 6 }, () => fresh.connect()));
    const opened = await Promise.allSettled(databases.map((db) => openProgressStore(db)));
    const stores = opened.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
    try {
      expect(opened.filter((o) => o.status === "rejected")).toEqual([]);
      expect(await Promise.all(stores.map((s) => s.schemaVersion()))).toEqual(
        Array(6).fill(SCHEMA_VERSION),
      );
      await stores[0]!.recordVisit(A, "02-named-volumes");
      expect((await stores[5]!.get(A)).lastLesson).toBe("02-named-volumes");
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      fresh.cleanup();
    }
  });

  it("tells every server's class dashboards of a learner's change, once each, even after a database restart", async () => {
    const shared = await places.postgres();
    const [one, two] = await Promise.all(
      [shared.connect(), shared.connect()].map(async (db) => openProgressStore(await db)),
    );
    const heard = { one: [] as string[], two: [] as string[] };
    one!.onLearnerChange((id) => heard.one.push(id));
    two!.onLearnerChange((id) => heard.two.push(id));
    const until = async (done: () => boolean) => {
      for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 100));
    };
    try {
      await new Promise((r) => setTimeout(r, 300)); // the listening connections are up
      await one!.recordVisit(A, "02-named-volumes");
      await until(() => heard.two.length > 0);
      expect(heard.two).toEqual([publicLearnerId(A)]);
      await new Promise((r) => setTimeout(r, 300)); // its own announcement came back: not told twice
      expect(heard.one).toEqual([publicLearnerId(A)]);

      await cluster!.pause();
      await cluster!.resume();
      // The listening connection is made again (a second after it broke), the pools reconnect.
      await new Promise((r) => setTimeout(r, 2500));
      await two!.recordVisit(B, "02-named-volumes");
      await until(() => heard.one.length > 1);
      expect(heard.one).toEqual([publicLearnerId(A), publicLearnerId(B)]);
    } finally {
      await Promise.all([one!.close(), two!.close()]);
    }
  }, 30_000);
});

describe("moving from SQLite to PostgreSQL (copy-store.ts)", () => {
  it("copies every learner's progress, the classes and their seats into an empty PostgreSQL database, once", async () => {
    const sqlitePlace = await places.sqlite();
    const postgresPlace = await places.postgres();
    const sqlite = await openProgressStore(await sqlitePlace.connect());
    try {
      await sqlite.recordVisit(A, "01-containers-are-ephemeral");
      await sqlite.recordVisit(A, "02-named-volumes");
      await sqlite.recordVisit(B, "02-named-volumes");
      await sqlite.recordAttempts(A, "02-named-volumes", "tidy-up", [
        { id: "cache-removed", passed: false, message: "the cache volume is still there" },
      ]);
      await sqlite.recordTasks(A, "02-named-volumes", "keep-the-data", ["volume-exists"]);
      await sqlite.recordQuiz(B, {
        lesson: "02-named-volumes",
        quiz: "q1",
        answer: 2,
        correct: false,
      });
      const classes = openClassStore(sqlite.database);
      await classes.create({
        code: "NCJANF",
        name: "Monday",
        seats: 5,
        startsAt: new Date().toISOString(),
        endsAt: new Date(Date.now() + 3600_000).toISOString(),
        createdAt: new Date().toISOString(),
      });
      await classes.join("NCJANF", B, "Bo");
      await classes.join("NCJANF", A, "Al");

      const target = await postgresPlace.connect();
      expect(await copyPlatformState(sqlite.database, target)).toMatchObject({
        visits: 3,
        task_passes: 1,
        quiz_answers: 1,
        task_checks: 1,
        classes: 1,
        class_members: 2,
      });
      await expect(copyPlatformState(sqlite.database, target)).rejects.toThrow(
        "the target database already has rows in task_passes: copy only into an empty database",
      );
      const moved = await openProgressStore(target);
      try {
        for (const learner of [A, B])
          expect(await moved.get(learner)).toEqual(await sqlite.get(learner));
        expect(await moved.listAll()).toEqual(await sqlite.listAll());
        expect(await moved.taskChecks(publicLearnerId(A))).toEqual(
          await sqlite.taskChecks(publicLearnerId(A)),
        );
        const movedClasses = openClassStore(moved.database);
        expect((await movedClasses.members("NCJANF")).map((m) => m.name)).toEqual(["Bo", "Al"]);
        expect((await movedClasses.seatOf(A, new Date()))?.record.name).toBe("Monday");
      } finally {
        await moved.close();
      }
    } finally {
      await sqlite.close();
      sqlitePlace.cleanup();
    }
  });
});

describe("SQLite files from older servers", () => {
  let dir: string;
  let file: string;
  let store: ProgressStore;
  const open = async (path = file) => openProgressStore(openSqliteDatabase(path));
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "stowage-progress-"));
    file = join(dir, "nested", "progress.sqlite");
    store = await open();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("migrates a database made before schema versions, keeping its data", async () => {
    await store.close();
    const old = join(dir, "old.sqlite");
    const db = new DatabaseSync(old);
    db.exec(
      "CREATE TABLE task_passes (learner TEXT NOT NULL, lesson TEXT NOT NULL, exercise TEXT NOT NULL, task TEXT NOT NULL, passed_at TEXT NOT NULL, PRIMARY KEY (learner, lesson, exercise, task));",
    );
    db.exec(`INSERT INTO task_passes VALUES ('${A}', 'l', 'e', 't', '2026-01-01T00:00:00.000Z')`);
    db.close();
    store = await open(old);
    expect((await store.get(A)).lessons.l!.tasks["e/t"]).toBe("2026-01-01T00:00:00.000Z");
    expect(await store.schemaVersion()).toBe(SCHEMA_VERSION);
    await store.recordAttempts(A, "l", "e", [{ id: "t", passed: true, message: "" }]);
    await store.close();
    store = await open(old); // opening again at the newest version changes nothing
    expect(await store.taskChecks(publicLearnerId(A))).toHaveLength(1);
  });

  it("never writes the cookie value into the file", async () => {
    await store.recordVisit(A, "02-named-volumes");
    await store.recordTasks(A, "02-named-volumes", "tidy-up", ["cache-removed"]);
    await store.recordQuiz(A, { lesson: "02-named-volumes", quiz: "q1", answer: 1, correct: true });
    await store.close();
    for (const suffix of ["", "-wal"]) {
      const bytes = (() => {
        try {
          return readFileSync(file + suffix, "latin1");
        } catch {
          return "";
        }
      })();
      expect(bytes).not.toContain(A);
    }
    store = await open();
  });

  it("migrates a file written with cookie values: progress kept under the public id, no secret left", async () => {
    await store.close();
    rmSync(file, { force: true });
    rmSync(file + "-wal", { force: true });
    rmSync(file + "-shm", { force: true });
    mkdirSync(join(dir, "nested"), { recursive: true });
    // What ddc0117 wrote: the same tables, learner = the cookie, user_version 0.
    const old = new DatabaseSync(file);
    old.exec(`CREATE TABLE task_passes (learner TEXT NOT NULL, lesson TEXT NOT NULL, exercise TEXT NOT NULL, task TEXT NOT NULL, passed_at TEXT NOT NULL, PRIMARY KEY (learner, lesson, exercise, task));
      CREATE TABLE quiz_answers (learner TEXT NOT NULL, lesson TEXT NOT NULL, quiz TEXT NOT NULL, answer INTEGER NOT NULL, correct INTEGER NOT NULL, answered_at TEXT NOT NULL, PRIMARY KEY (learner, lesson, quiz));
      CREATE TABLE visits (learner TEXT NOT NULL, lesson TEXT NOT NULL, first_at TEXT NOT NULL, last_at TEXT NOT NULL, PRIMARY KEY (learner, lesson));
      INSERT INTO task_passes VALUES ('${A}', '02-named-volumes', 'tidy-up', 'cache-removed', '2026-12-01T10:00:00.000Z');
      INSERT INTO quiz_answers VALUES ('${B}', '01-containers-are-ephemeral', 'q1', 2, 1, '2026-12-01T10:00:00.000Z');
      INSERT INTO visits VALUES ('${A}', '02-named-volumes', '2026-12-01T09:00:00.000Z', '2026-12-01T10:00:00.000Z');`);
    old.close();
    store = await open();
    const a = await store.get(A);
    expect(a.lastLesson).toBe("02-named-volumes");
    expect(a.lessons["02-named-volumes"]!.tasks["tidy-up/cache-removed"]).toBe(
      "2026-12-01T10:00:00.000Z",
    );
    expect((await store.get(B)).lessons["01-containers-are-ephemeral"]!.quizzes.q1).toEqual({
      answer: 2,
      correct: true,
      answeredAt: "2026-12-01T10:00:00.000Z",
    });
    const rows = await store.listAll();
    expect(rows.map((r) => r.publicId).sort()).toEqual(
      [publicLearnerId(A), publicLearnerId(B)].sort(),
    );
    expect(JSON.stringify(rows)).not.toContain(A);
    expect(JSON.stringify(rows)).not.toContain(B);
    // Opening again does not hash the hashes.
    await store.close();
    store = await open();
    expect((await store.get(A)).lastLesson).toBe("02-named-volumes");
  });
});

describe("progress routes", () => {
  let dir: string;
  let store: ProgressStore;
  let server: Server;
  let base: string;
  let token: string | undefined = "s3cret";
  const cookie = `stowage_learner=${A}`;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "stowage-progress-"));
    store = await openProgressStore(openSqliteDatabase(join(dir, "p.sqlite")));
    const router = new Router();
    registerProgressRoutes(router, store, { instructorToken: () => token });
    server = createServer((req, res) => {
      void router.handle(req, res).then((handled) => {
        if (!handled) res.writeHead(404).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await new Promise((r) => server.close(r));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    token = "s3cret";
  });
  afterAll(() => undefined);

  const post = (path: string, body: unknown) =>
    fetch(base + path, {
      method: "POST",
      headers: { "content-type": "application/json", cookie },
      body: JSON.stringify(body),
    });

  it("records and returns the caller's progress", async () => {
    expect((await post("/api/progress/visits", { lesson: "02-named-volumes" })).status).toBe(200);
    // What the checks route does when a check passes.
    await store.recordTasks(A, "02-named-volumes", "keep-the-data", ["volume-exists"]);
    expect(
      (
        await post("/api/progress/quizzes", {
          lesson: "02-named-volumes",
          quiz: "qabc",
          answer: 0,
          correct: true,
        })
      ).status,
    ).toBe(200);
    const res = await fetch(base + "/api/progress", { headers: { cookie } });
    const body = (await res.json()) as {
      lastLesson: string;
      lessons: Record<string, { tasks: object; quizzes: object }>;
    };
    expect(body.lastLesson).toBe("02-named-volumes");
    expect(Object.keys(body.lessons["02-named-volumes"]!.tasks)).toEqual([
      "keep-the-data/volume-exists",
    ]);
  });

  it("rejects a bad body naming the field", async () => {
    const res = await post("/api/progress/quizzes", {
      lesson: "Bad Id",
      quiz: "q1",
      answer: 0,
      correct: true,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/^lesson:/);
  });

  it("does not let a browser mark tasks done without a check", async () => {
    const res = await post("/api/progress/tasks", {
      lesson: "02-named-volumes",
      exercise: "keep-the-data",
      tasks: [{ id: "volume-exists", passed: true }],
    });
    expect(res.status).toBe(410);
    const body = (await (await fetch(base + "/api/progress", { headers: { cookie } })).json()) as {
      lessons: Record<string, unknown>;
    };
    expect(body.lessons).toEqual({});
  });

  it("protects the instructor view with the bearer token", async () => {
    await post("/api/progress/visits", { lesson: "01-containers-are-ephemeral" });
    expect((await fetch(base + "/api/instructor/progress")).status).toBe(401);
    expect(
      (
        await fetch(base + "/api/instructor/progress", {
          headers: { authorization: "Bearer nope" },
        })
      ).status,
    ).toBe(401);
    const ok = await fetch(base + "/api/instructor/progress", {
      headers: { authorization: "Bearer s3cret" },
    });
    expect(ok.status).toBe(200);
    const text = await ok.text();
    // The view names learners by public id: the cookie value (the key to their sandbox) is not in it.
    expect(text).not.toContain(A);
    const body = JSON.parse(text) as {
      learners: Array<{ publicId: string; lastLesson: string }>;
    };
    expect(body.learners).toEqual([
      expect.objectContaining({
        publicId: publicLearnerId(A),
        lastLesson: "01-containers-are-ephemeral",
      }),
    ]);
    token = undefined;
    expect(
      (
        await fetch(base + "/api/instructor/progress", {
          headers: { authorization: "Bearer s3cret" },
        })
      ).status,
    ).toBe(404);
  });
});
