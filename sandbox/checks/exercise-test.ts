/**
 * The instructor's proof that an exercise is right, in a fresh sandbox: every check fails before
 * anything is done (after setup.sh), the solution runs, every check passes after.
 */
import { readFile, readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { SessionManager } from "../sessions/session-manager.ts";
import { runInWorkstation } from "../sessions/workstation-exec.ts";
import { exerciseTasks, runExerciseChecks } from "./shell-checks.ts";
import type { TaskResult } from "../progress/store.ts";

/** A cheat: a shortcut a hurried student takes (cheats/<name>.sh), run after setup.sh in a fresh sandbox. */
export interface CheatResult {
  name: string;
  /** The task whose check must fail, from the script's `# fails: <task>` line. */
  task: string | undefined;
  script: { ok: boolean; output: string };
  checks: TaskResult[];
  /** The cheat ran and the named task's check failed with a message (any task's, when none is named). */
  ok: boolean;
}

export interface ExerciseTestResult {
  lesson: string;
  exercise: string;
  setup?: { ok: boolean; output: string };
  before: TaskResult[];
  solution: { ok: boolean; output: string };
  after: TaskResult[];
  cheats: CheatResult[];
  /** True when setup and solution ran, every check failed before and passed after, and every cheat was caught. */
  ok: boolean;
  /** How long the whole test took (new session to removed session). */
  ms: number;
}

const SCRIPT_TIMEOUT_MS = 180_000;

export async function listExercises(
  lessonsDir: string,
  only: string[] = [],
): Promise<{ lesson: string; exercise: string }[]> {
  const out: { lesson: string; exercise: string }[] = [];
  for (const lesson of (await readdir(lessonsDir)).sort()) {
    if (
      only.length &&
      !only.some((o) => lesson === o || lesson.startsWith(`${o}-`) || lesson.endsWith(o))
    )
      continue;
    const folder = join(lessonsDir, lesson, "exercises");
    if (!existsSync(folder)) continue;
    for (const exercise of (await readdir(folder)).sort()) {
      if (await exerciseTasks(lessonsDir, lesson, exercise)) out.push({ lesson, exercise });
    }
  }
  return out;
}

/** The task a cheat must be caught by: its `# fails: <task>` line. */
export function cheatTask(script: string): string | undefined {
  return /^#\s*fails:\s*([a-z0-9][a-z0-9-]*)\s*$/m.exec(script)?.[1];
}

export async function listCheats(
  lessonsDir: string,
  lesson: string,
  exercise: string,
): Promise<string[]> {
  const folder = join(lessonsDir, lesson, "exercises", exercise, "cheats");
  return existsSync(folder) ? (await readdir(folder)).filter((f) => f.endsWith(".sh")).sort() : [];
}

export async function testExercise(
  sessions: SessionManager,
  lessonsDir: string,
  lesson: string,
  exercise: string,
): Promise<ExerciseTestResult> {
  const started = Date.now();
  const result = await runExerciseTest(sessions, lessonsDir, lesson, exercise);
  const cheats: CheatResult[] = [];
  for (const file of await listCheats(lessonsDir, lesson, exercise))
    cheats.push(await runCheat(sessions, lessonsDir, lesson, exercise, file));
  return {
    ...result,
    cheats,
    ok: result.ok && cheats.every((c) => c.ok),
    ms: Date.now() - started,
  };
}

/** In a fresh sandbox: setup.sh, then the cheat, then the checks; the named task must fail and say why. */
async function runCheat(
  sessions: SessionManager,
  lessonsDir: string,
  lesson: string,
  exercise: string,
  file: string,
): Promise<CheatResult> {
  const owner = `exercise-cheat-${lesson}-${exercise}`;
  const { session } = await sessions.create(owner, owner);
  const folder = join(lessonsDir, lesson, "exercises", exercise);
  const text = await readFile(join(folder, "cheats", file), "utf8");
  const run = async (script: string) => {
    const result = await runInWorkstation(session.engine.docker, session.workstationId!, script, {
      timeoutMs: SCRIPT_TIMEOUT_MS,
    });
    return { ok: result.exitCode === 0, output: result.output };
  };
  try {
    const setup = existsSync(join(folder, "setup.sh"))
      ? await run(await readFile(join(folder, "setup.sh"), "utf8"))
      : { ok: true, output: "" };
    const script = setup.ok
      ? await run(text)
      : { ok: false, output: `setup.sh failed: ${setup.output}` };
    const checks = (await runExerciseChecks(
      session.engine.docker,
      session,
      lessonsDir,
      lesson,
      exercise,
    ))!;
    const task = cheatTask(text);
    // A check that timed out or broke did not catch anything: it must say what is missing.
    const undecided =
      /^(The check took longer than|This task's check (hit an error|could not be loaded|gave no answer)|The check could not run)/;
    const caught = checks.filter(
      (t) =>
        !t.passed &&
        t.message.trim() !== "" &&
        !undecided.test(t.message) &&
        (task === undefined || t.id === task),
    );
    return {
      name: file.replace(/\.sh$/, ""),
      task,
      script,
      checks,
      ok: script.ok && caught.length > 0,
    };
  } finally {
    await sessions.destroy(session.id, "exercise cheat test done");
  }
}

async function runExerciseTest(
  sessions: SessionManager,
  lessonsDir: string,
  lesson: string,
  exercise: string,
): Promise<ExerciseTestResult> {
  const owner = `exercise-test-${lesson}-${exercise}`;
  const { session } = await sessions.create(owner, owner);
  const docker = session.engine.docker;
  const folder = join(lessonsDir, lesson, "exercises", exercise);
  const run = async (file: string) => {
    const result = await runInWorkstation(
      docker,
      session.workstationId!,
      await readFile(join(folder, file), "utf8"),
      { timeoutMs: SCRIPT_TIMEOUT_MS },
    );
    return { ok: result.exitCode === 0, output: result.output };
  };
  try {
    const setup = existsSync(join(folder, "setup.sh")) ? await run("setup.sh") : undefined;
    const before = (await runExerciseChecks(docker, session, lessonsDir, lesson, exercise))!;
    const solution = await run("solution.sh");
    const after = (await runExerciseChecks(docker, session, lessonsDir, lesson, exercise))!;
    const ok =
      (setup?.ok ?? true) &&
      solution.ok &&
      before.every((t) => !t.passed) &&
      after.every((t) => t.passed);
    return { lesson, exercise, setup, before, solution, after, cheats: [], ok, ms: 0 };
  } finally {
    await sessions.destroy(session.id, "exercise test done");
  }
}

/**
 * A table per exercise, one row per task: BEFORE (after setup.sh, nothing done) must be "fail",
 * AFTER (after solution.sh) must be "pass". Wrong cells say why, with the check's message.
 */
export function formatExerciseTest(result: ExerciseTestResult): string {
  const seconds = result.ms ? `  (${(result.ms / 1000).toFixed(1)} s)` : "";
  const lines = [`${result.ok ? "PASS" : "FAIL"}  ${result.lesson} / ${result.exercise}${seconds}`];
  if (result.setup && !result.setup.ok)
    lines.push("    setup.sh failed:", indent(result.setup.output, 6));
  if (!result.solution.ok) lines.push("    solution.sh failed:", indent(result.solution.output, 6));
  const width = Math.max(4, ...result.before.map((t) => t.id.length));
  const beforeWidth = "before: must fail".length + 2;
  lines.push(
    `    ${"task".padEnd(width)}  ${"before: must fail".padEnd(beforeWidth)}after: must pass`,
  );
  for (const [i, before] of result.before.entries()) {
    const after = result.after[i] ?? { id: before.id, passed: false, message: "" };
    const beforeCell = before.passed ? "PASSED (wrong)" : "failed";
    const afterCell = after.passed ? "passed" : "FAILED (wrong)";
    lines.push(
      `  ${!before.passed && after.passed ? "  " : "✗ "}${before.id.padEnd(width)}  ${beforeCell.padEnd(beforeWidth)}${afterCell}`,
    );
    if (before.passed)
      lines.push(
        indent(
          `before: the check passed on an untouched sandbox, so it does not test the task${before.message ? ` (${before.message})` : ""}`,
          width + 8,
        ),
      );
    if (!after.passed)
      lines.push(indent(`after: ${after.message || "failed with no message"}`, width + 8));
  }
  for (const cheat of result.cheats) {
    const target = cheat.task ? `${cheat.task} must fail` : "a check must fail";
    if (cheat.ok) {
      const by = cheat.checks.find(
        (t) => !t.passed && (cheat.task === undefined || t.id === cheat.task),
      )!;
      lines.push(`    cheat ${cheat.name}: caught by ${by.id}: ${by.message.split("\n")[0]}`);
    } else if (!cheat.script.ok) {
      lines.push(
        `  ✗ cheat ${cheat.name}: the cheat script failed, so it proves nothing:`,
        indent(cheat.script.output, 8),
      );
    } else {
      lines.push(
        `  ✗ cheat ${cheat.name}: NOT CAUGHT (${target}): ${cheat.checks.map((t) => `${t.id} ${t.passed ? "passed" : "failed"}`).join(", ")}`,
      );
      const named = cheat.checks.find((t) => t.id === cheat.task && !t.passed);
      if (named)
        lines.push(
          indent(
            `${named.id} failed without saying what is missing: ${named.message.split("\n")[0]}`,
            8,
          ),
        );
    }
  }
  return lines.join("\n");
}

const indent = (text: string, n = 4) =>
  text
    .trim()
    .split("\n")
    .slice(-10)
    .map((l) => " ".repeat(n) + l)
    .join("\n");
