import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { Router } from "../http/router.ts";
import { registerProgressRoutes } from "./routes.ts";
import { openProgressStore, publicLearnerId, type ProgressStore } from "./store.ts";

const A = "a".repeat(32);
const B = "b".repeat(32);

describe("progress store (real SQLite file)", () => {
  let dir: string;
  let file: string;
  let store: ProgressStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "stowage-progress-"));
    file = join(dir, "nested", "progress.sqlite");
    store = openProgressStore(file);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("records only passed tasks and never un-passes them", () => {
    expect(
      store.recordTasks(A, "02-named-volumes", "keep-the-data", [
        { id: "volume-exists", passed: true },
        { id: "writer-gone", passed: false },
      ]),
    ).toBe(1);
    expect(
      store.recordTasks(A, "02-named-volumes", "keep-the-data", [
        { id: "volume-exists", passed: false },
        { id: "writer-gone", passed: true },
      ]),
    ).toBe(1);
    expect(
      store.recordTasks(A, "02-named-volumes", "keep-the-data", [
        { id: "writer-gone", passed: true },
      ]),
    ).toBe(0);
    const tasks = store.get(A).lessons["02-named-volumes"]!.tasks;
    expect(Object.keys(tasks).sort()).toEqual([
      "keep-the-data/volume-exists",
      "keep-the-data/writer-gone",
    ]);
    expect(store.get(B).lessons).toEqual({});
  });

  it("takes the passed task ids, as the checks route gives them", () => {
    expect(store.recordTasks(A, "02-named-volumes", "tidy-up", ["cache-removed", "app-kept"])).toBe(
      2,
    );
    expect(store.recordTasks(A, "02-named-volumes", "tidy-up", ["cache-removed"])).toBe(0);
    expect(store.recordTasks(A, "02-named-volumes", "tidy-up", [])).toBe(0);
    expect(Object.keys(store.get(A).lessons["02-named-volumes"]!.tasks).sort()).toEqual([
      "tidy-up/app-kept",
      "tidy-up/cache-removed",
    ]);
  });

  it("keeps the first committed quiz answer", () => {
    store.recordQuiz(A, { lesson: "02-named-volumes", quiz: "q1", answer: 1, correct: false });
    store.recordQuiz(A, { lesson: "02-named-volumes", quiz: "q1", answer: 0, correct: true });
    expect(store.get(A).lessons["02-named-volumes"]!.quizzes.q1).toMatchObject({
      answer: 1,
      correct: false,
    });
  });

  it("knows the last visited lesson", () => {
    store.recordVisit(A, "01-containers-are-ephemeral");
    store.recordVisit(A, "02-named-volumes");
    expect(store.get(A).lastLesson).toBe("02-named-volumes");
    store.recordVisit(A, "01-containers-are-ephemeral");
    const p = store.get(A);
    expect(p.lastLesson).toBe("01-containers-are-ephemeral");
    expect(p.lessons["02-named-volumes"]!.visitedAt).toBeTypeOf("string");
  });

  it("counts attempts until a task passes, failures in a row, and the last failure message", () => {
    const L = "02-named-volumes",
      E = "keep-the-data";
    store.recordAttempts(A, L, E, [{ id: "t", passed: false, message: "no volume" }]);
    store.recordAttempts(A, L, E, [{ id: "t", passed: false, message: "still no volume" }]);
    expect(store.taskChecks(publicLearnerId(A))).toEqual([
      expect.objectContaining({
        task: "t",
        attempts: 2,
        failuresInRow: 2,
        lastPassed: false,
        lastMessage: "still no volume",
      }),
    ]);
    // The checks route records attempts, then the pass.
    store.recordAttempts(A, L, E, [{ id: "t", passed: true, message: "" }]);
    store.recordTasks(A, L, E, ["t"]);
    store.recordAttempts(A, L, E, [{ id: "t", passed: true, message: "" }]);
    const [check] = store.taskChecks(publicLearnerId(A));
    expect(check).toMatchObject({
      attempts: 3,
      failuresInRow: 0,
      lastPassed: true,
      lastMessage: "",
    });
    expect(check!.passedAt).toBeTypeOf("string");
    expect(store.taskChecks(publicLearnerId(B))).toEqual([]);
  });

  it("migrates a database made before schema versions, keeping its data", () => {
    store.close();
    const old = join(dir, "old.sqlite");
    const db = new DatabaseSync(old);
    db.exec(
      "CREATE TABLE task_passes (learner TEXT NOT NULL, lesson TEXT NOT NULL, exercise TEXT NOT NULL, task TEXT NOT NULL, passed_at TEXT NOT NULL, PRIMARY KEY (learner, lesson, exercise, task));",
    );
    db.exec(`INSERT INTO task_passes VALUES ('${A}', 'l', 'e', 't', '2026-01-01T00:00:00.000Z')`);
    db.close();
    store = openProgressStore(old);
    expect(store.get(A).lessons.l!.tasks["e/t"]).toBe("2026-01-01T00:00:00.000Z");
    expect(
      Number(
        (store.database.prepare("PRAGMA user_version").get() as { user_version: number })
          .user_version,
      ),
    ).toBe(3);
    store.recordAttempts(A, "l", "e", [{ id: "t", passed: true, message: "" }]);
    store.close();
    store = openProgressStore(old); // opening again at the newest version changes nothing
    expect(store.taskChecks(publicLearnerId(A))).toHaveLength(1);
  });

  it("survives closing and reopening the file", () => {
    store.recordVisit(A, "02-named-volumes");
    store.recordTasks(A, "02-named-volumes", "tidy-up", [{ id: "cache-removed", passed: true }]);
    store.recordQuiz(B, {
      lesson: "01-containers-are-ephemeral",
      quiz: "qx",
      answer: 0,
      correct: true,
    });
    store.close();
    store = openProgressStore(file);
    const a = store.get(A);
    expect(a.lastLesson).toBe("02-named-volumes");
    expect(a.lessons["02-named-volumes"]!.tasks["tidy-up/cache-removed"]).toBeTypeOf("string");
    const rows = store.listAll();
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

  it("never stores the cookie value: neither the instructor rows nor the file hold it", () => {
    store.recordVisit(A, "02-named-volumes");
    store.recordTasks(A, "02-named-volumes", "tidy-up", ["cache-removed"]);
    store.recordQuiz(A, { lesson: "02-named-volumes", quiz: "q1", answer: 1, correct: true });
    expect(JSON.stringify(store.listAll())).not.toContain(A);
    store.close();
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
    store = openProgressStore(file);
  });

  it("migrates a file written with cookie values: progress kept under the public id, no secret left", () => {
    store.close();
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
    store = openProgressStore(file);
    const a = store.get(A);
    expect(a.lastLesson).toBe("02-named-volumes");
    expect(a.lessons["02-named-volumes"]!.tasks["tidy-up/cache-removed"]).toBe(
      "2026-12-01T10:00:00.000Z",
    );
    expect(store.get(B).lessons["01-containers-are-ephemeral"]!.quizzes.q1).toEqual({
      answer: 2,
      correct: true,
      answeredAt: "2026-12-01T10:00:00.000Z",
    });
    const rows = store.listAll();
    expect(rows.map((r) => r.publicId).sort()).toEqual(
      [publicLearnerId(A), publicLearnerId(B)].sort(),
    );
    expect(JSON.stringify(rows)).not.toContain(A);
    expect(JSON.stringify(rows)).not.toContain(B);
    // Opening again does not hash the hashes.
    store.close();
    store = openProgressStore(file);
    expect(store.get(A).lastLesson).toBe("02-named-volumes");
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
    store = openProgressStore(join(dir, "p.sqlite"));
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
    store.close();
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
    store.recordTasks(A, "02-named-volumes", "keep-the-data", ["volume-exists"]);
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
