/**
 * Every exercise of the course, on the real engine through the real sandbox: its checks fail on
 * a fresh sandbox and pass after its solution, and every cheats/*.sh shortcut is refused with a
 * message (what `npx stowage test` prints, per task and per cheat).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { startTestServer } from "../../tools/sandbox-server.ts";
import {
  formatExerciseTest,
  listExercises,
  testExercise,
} from "../../sandbox/checks/exercise-test.ts";

const lessonsDir = resolve("lessons");
const exercises = await listExercises(lessonsDir);
type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe("every exercise: checks fail before the solution and pass after", () => {
  it("finds the course's exercises", () => {
    expect(exercises.length).toBeGreaterThanOrEqual(10);
  });
  for (const { lesson, exercise } of exercises) {
    it(`${lesson} / ${exercise}`, { timeout: 400_000 }, async () => {
      const result = await testExercise(server.sessions, lessonsDir, lesson, exercise);
      expect(result.ok, formatExerciseTest(result)).toBe(true);
    });
  }
});
