import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { Router } from "../http/router.ts";
import { registerProgressRoutes } from "./routes.ts";
import { openProgressStore, type ProgressStore } from "./store.ts";

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
    expect(store.recordTasks(A, "02-named-volumes", "tidy-up", ["cache-removed", "app-kept"])).toBe(2);
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
    expect(rows.map((r) => r.learnerId).sort()).toEqual([A, B]);
    expect(rows.find((r) => r.learnerId === A)!.exercises).toEqual({
      "02-named-volumes/tidy-up": ["cache-removed"],
    });
    expect(rows.find((r) => r.learnerId === B)!.quizzes).toEqual({ answered: 1, correct: 1 });
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
    const body = (await ok.json()) as {
      learners: Array<{ learnerId: string; lastLesson: string }>;
    };
    expect(body.learners).toEqual([
      expect.objectContaining({ learnerId: A, lastLesson: "01-containers-are-ephemeral" }),
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
