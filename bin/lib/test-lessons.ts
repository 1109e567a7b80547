/**
 * `stowage test [lesson...]`: the exercise test (sandbox/checks/exercise-test.ts) of every
 * exercise of the named lessons, each in a fresh sandbox on the real engine, through the same
 * SessionManager, proxy and policy students get. A private instance name and data folder keep it
 * apart from a server running on the same engine; everything it made is removed at the end.
 */
import { existsSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { randomBytes } from "node:crypto";
import { loadConfig } from "../../sandbox/config.ts";
import { engineFrom, probeEngine } from "../../sandbox/docker/engine.ts";
import { log } from "../../sandbox/log.ts";
import { SessionManager } from "../../sandbox/sessions/session-manager.ts";
import { ensureImages } from "../../sandbox/images/build.ts";
import {
  formatExerciseTest,
  listExercises,
  testExercise,
  type ExerciseTestResult,
} from "../../sandbox/checks/exercise-test.ts";
import type { CliContext } from "./context.ts";
import { unmountBelow } from "../../sandbox/sessions/bind-view.ts";

/** Which lesson folders a name given on the command line selects (folder, number or slug). */
export function matchLessons(folders: string[], name: string): string[] {
  const n = name.replace(/\/+$/, "").split("/").pop()!;
  return folders.filter((f) => f === n || f.startsWith(`${n}-`) || f.endsWith(`-${n}`));
}

export async function testCommand(ctx: CliContext): Promise<number> {
  const jobs = Math.max(1, Math.min(8, Number(ctx.options.jobs ?? 1) || 1));
  if (!existsSync(ctx.lessonsDir)) {
    process.stderr.write(`stowage test: no lessons folder at ${ctx.lessonsDir}\n`);
    return 2;
  }
  const folders = readdirSync(ctx.lessonsDir).sort();
  const selected = new Set<string>();
  for (const name of ctx.args) {
    const found = matchLessons(folders, name);
    if (found.length === 0) {
      process.stderr.write(
        `stowage test: no lesson "${name}" in ${relative(process.cwd(), ctx.lessonsDir) || ctx.lessonsDir} (a folder like 05-tmpfs, its number 05 or its slug tmpfs)\n`,
      );
      return 2;
    }
    found.forEach((f) => selected.add(f));
  }
  const exercises = (await listExercises(ctx.lessonsDir)).filter(
    (e) => selected.size === 0 || selected.has(e.lesson),
  );
  if (exercises.length === 0) {
    process.stdout.write(
      `No exercises to test${selected.size ? ` in ${[...selected].join(", ")}` : ""}.\n`,
    );
    return 0;
  }

  const config = loadConfig(process.env, {
    dataDir: await mkdir(join(ctx.root, ".data"), { recursive: true }).then(() =>
      mkdtemp(join(ctx.root, ".data", "stowage-test-")),
    ),
    instance: `cli-${randomBytes(4).toString("hex")}`,
    lessonsDir: ctx.lessonsDir,
    createPerMinute: 100_000,
    maxSessions: 1000,
  });
  const engine = engineFrom(config.dockerHost, { concurrentStarts: config.engineStarts });
  const probe = await probeEngine(engine, 5000);
  if (!probe.answers) {
    process.stderr.write(`stowage test: ${probe.message}\n`);
    await rm(config.dataDir, { recursive: true, force: true });
    return 2;
  }
  await ensureImages({ docker: engine.docker, progress: null });
  const sessions = new SessionManager({ engine, config, log });
  await sessions.start();
  let stopping: Promise<void> | undefined;
  const cleanup = () =>
    (stopping ??= sessions.stop().finally(async () => {
      await unmountBelow(config.dataDir); // the sessions' bind views, should a stop have failed
      await rm(config.dataDir, { recursive: true, force: true });
    }));
  const interrupt = () => {
    process.stderr.write("\nstowage test: interrupted; removing the test sandboxes...\n");
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);

  const lessonCount = new Set(exercises.map((e) => e.lesson)).size;
  process.stdout.write(
    `Testing ${exercises.length} exercise${exercises.length === 1 ? "" : "s"} of ${lessonCount} lesson${lessonCount === 1 ? "" : "s"} in fresh sandboxes${jobs > 1 ? `, ${jobs} at a time` : ""}.\n\n`,
  );
  const started = Date.now();
  const results: ExerciseTestResult[] = [];
  let failed = 0;
  const queue = [...exercises];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const t0 = Date.now();
      let text: string;
      try {
        const result = await testExercise(sessions, ctx.lessonsDir, next.lesson, next.exercise);
        results.push(result);
        if (!result.ok) failed++;
        text = formatExerciseTest(result);
      } catch (error) {
        failed++;
        text = `FAIL  ${next.lesson} / ${next.exercise}  (${((Date.now() - t0) / 1000).toFixed(1)} s)\n    the test could not run: ${(error as Error).message}`;
      }
      process.stdout.write(`${text}\n\n`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, exercises.length) }, worker));
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    await cleanup();
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `${exercises.length - failed} passed, ${failed} failed (${exercises.length} exercise${exercises.length === 1 ? "" : "s"}, ${seconds} s)\n`,
  );
  if (failed)
    process.stdout.write(
      "An exercise passes when every check fails after setup.sh and passes after solution.sh, and every cheats/*.sh is caught by the task its '# fails:' line names.\n",
    );
  return failed ? 1 : 0;
}
