/**
 * Runs an exercise's checks in the student's session, one per task in
 * lessons/<lesson>/exercises/<exercise>/checks/:
 * - <task>.sh: run as the student's uid in the session's check container (check-container.ts),
 *   with the home read-only at /home/student and the session's scoped docker CLI. Exit 0
 *   passes; on failure the script's output is the message.
 * - <task>.ts: a TypeScript check (api.ts, ts-checks.ts) over the same CLI plus the session's
 *   event history. When both exist, the .ts one runs.
 * Both are read from disk on every run: editing a check needs no restart.
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type Docker from "dockerode";
import { runCheckScript } from "../sessions/check-container.ts";
import type { CheckTarget } from "./check-session.ts";
import { runTsCheck } from "./ts-checks.ts";
import type { TaskResult } from "../progress/store.ts";
import { splitFrontmatter } from "../../src/schemas/lesson.ts";

export const CHECK_TIMEOUT_MS = 10_000;
const SAFE_ID = /^[a-z0-9][a-z0-9-]{0,80}$/;

/** The task ids of an exercise, in the order the lesson's frontmatter lists them. */
export async function exerciseTasks(
  lessonsDir: string,
  lesson: string,
  exercise: string,
): Promise<string[] | undefined> {
  if (!SAFE_ID.test(lesson) || !SAFE_ID.test(exercise)) return undefined;
  const text = await readFile(join(lessonsDir, lesson, "index.mdx"), "utf8").catch(() => undefined);
  const frontmatter = text ? splitFrontmatter(text)?.yaml : undefined;
  if (!frontmatter) return undefined;
  const data = parseYaml(frontmatter) as { exercises?: { id: string; tasks?: { id: string }[] }[] };
  return data.exercises?.find((e) => e.id === exercise)?.tasks?.map((t) => t.id);
}

/** `session`: the student's session (its check container and event history). */
export async function runExerciseChecks(
  docker: Docker,
  session: CheckTarget,
  lessonsDir: string,
  lesson: string,
  exercise: string,
): Promise<TaskResult[] | undefined> {
  const tasks = await exerciseTasks(lessonsDir, lesson, exercise);
  if (!tasks) return undefined;
  const folder = join(lessonsDir, lesson, "exercises", exercise, "checks");
  const files = await readdir(folder).catch(() => [] as string[]);
  // Each task's check is independent: run them side by side (the slowest one sets the time).
  const results: TaskResult[] = await Promise.all(
    tasks.map(async (task): Promise<TaskResult> => {
      if (!SAFE_ID.test(task))
        return {
          id: task,
          passed: false,
          message: "This task's id is not valid; tell your instructor.",
        };
      if (files.includes(`${task}.ts`))
        return { id: task, ...(await runTsCheck(docker, session, join(folder, `${task}.ts`))) };
      if (files.includes(`${task}.sh`))
        return { id: task, ...(await runShellCheck(docker, session, join(folder, `${task}.sh`))) };
      return {
        id: task,
        passed: false,
        message: `This task has no check (${task}.sh or ${task}.ts); tell your instructor.`,
      };
    }),
  );
  return results;
}

async function runShellCheck(
  docker: Docker,
  session: CheckTarget,
  file: string,
): Promise<{ passed: boolean; message: string }> {
  try {
    const script = await readFile(file, "utf8");
    const run = await runCheckScript(docker, session, script, { timeoutMs: CHECK_TIMEOUT_MS });
    if (run.timedOut)
      return {
        passed: false,
        message: `The check took longer than ${CHECK_TIMEOUT_MS / 1000} s and was stopped. Try again in a moment.`,
      };
    return {
      passed: run.exitCode === 0,
      message:
        run.exitCode === 0
          ? ""
          : run.output.trim().split("\n").slice(-5).join("\n") || "Not done yet.",
    };
  } catch (error) {
    return { passed: false, message: `The check could not run: ${(error as Error).message}` };
  }
}
