/**
 * `stowage validate`: everything that can be checked without a sandbox. The site's build-time
 * validation (src/integrations/lesson-validation.ts: frontmatter, images, a check per task,
 * solution.sh, <Exercise> ids), plus:
 * - links between lessons: `/lessons/<slug>/`, `../<slug>/` and `#heading` targets must exist;
 * - exercise folders: no folder or check file that the frontmatter does not name, not both a .sh
 *   and a .ts check for one task;
 * - scripts parse (`bash -n`), TypeScript checks load and `export default defineCheck(...)`.
 * Prints `file: field: what was expected`, one problem a line.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join, relative } from "node:path";
import { parse as parseYaml } from "yaml";
import {
  formatProblem,
  validateLessons,
  type LessonProblem,
} from "../../src/integrations/lesson-validation.ts";
import { splitFrontmatter } from "../../src/schemas/lesson.ts";
import { parseLessonFolder } from "../../src/schemas/lesson.ts";
import { loadTsCheck } from "../../sandbox/checks/ts-checks.ts";
import { cheatTask } from "../../sandbox/checks/exercise-test.ts";
import type { CliContext } from "./context.ts";

interface LessonText {
  folder: string;
  slug: string;
  file: string;
  body: string;
  /** Line of the body's first line in the file. */
  bodyLine: number;
  headings: Set<string>;
  exercises: { id: string; tasks: string[] }[];
}

/** GitHub's heading ids (what Astro's markdown gives headings): lowercase, punctuation dropped, spaces to dashes. */
export function headingSlugs(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of withoutCode(markdown).split("\n")) {
    const m = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = m[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/<[^>]+>/g, "")
      .replace(/[`*]/g, "");
    let slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    if (n > 0) slug = `${slug}-${n}`;
    out.add(slug);
  }
  return out;
}

/** Blanks fenced code blocks and inline code (keeping line numbers): links there are not links. */
function withoutCode(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, " "))
    .replace(/`[^`\n]*`/g, (code) => " ".repeat(code.length));
}

/** Every link target in an MDX body with its line: markdown links and href attributes. */
export function linkTargets(body: string): { target: string; line: number }[] {
  const text = withoutCode(body);
  const out: { target: string; line: number }[] = [];
  const lineAt = (index: number) => text.slice(0, index).split("\n").length;
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+["'][^"']*["'])?\s*\)/g))
    out.push({ target: m[1]!, line: lineAt(m.index) });
  for (const m of text.matchAll(/\bhref=(?:"([^"]*)"|'([^']*)'|\{\s*["'`]([^"'`]*)["'`]\s*\})/g))
    out.push({ target: (m[1] ?? m[2] ?? m[3])!, line: lineAt(m.index) });
  return out;
}

function readLessons(lessonsDir: string, root: string): LessonText[] {
  const lessons: LessonText[] = [];
  if (!existsSync(lessonsDir)) return lessons;
  for (const folder of readdirSync(lessonsDir).sort()) {
    const file = join(lessonsDir, folder, "index.mdx");
    const parsed = parseLessonFolder(folder);
    if (!parsed || !existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    const split = splitFrontmatter(text);
    if (!split) continue;
    let exercises: LessonText["exercises"] = [];
    try {
      const data = parseYaml(split.yaml) as {
        exercises?: { id?: unknown; tasks?: { id?: unknown }[] }[];
      } | null;
      exercises = (data?.exercises ?? [])
        .filter((e) => typeof e?.id === "string")
        .map((e) => ({ id: e.id as string, tasks: (e.tasks ?? []).map((t) => String(t?.id)) }));
    } catch {
      // The frontmatter problem is reported by validateLessons.
    }
    lessons.push({
      folder,
      slug: parsed.slug,
      file: relative(root, file),
      body: split.body,
      bodyLine: text.slice(0, text.length - split.body.length).split("\n").length,
      headings: headingSlugs(split.body),
      exercises,
    });
  }
  return lessons;
}

/**
 * Quizzes: at least three options, so a guess does not win half the time; two only for a
 * true/false myth (options exactly "True" and "False"); the answer must be one of the options.
 */
export function checkQuizzes(lessons: LessonText[]): LessonProblem[] {
  const problems: LessonProblem[] = [];
  for (const lesson of lessons) {
    for (const match of lesson.body.matchAll(/<Quiz\b[\s\S]*?>/g)) {
      const line = lesson.bodyLine + lesson.body.slice(0, match.index).split("\n").length - 1;
      const question = /question="([^"]*)"/.exec(match[0])?.[1] ?? "";
      const add = (message: string) =>
        problems.push({
          file: lesson.file,
          field: `(body) line ${line}`,
          message: `quiz "${question.slice(0, 50)}": ${message}`,
        });
      const list = /options=\{(\[[\s\S]*?\])\}/.exec(match[0])?.[1];
      let options: unknown;
      try {
        options = list === undefined ? undefined : JSON.parse(list);
      } catch {
        options = undefined;
      }
      if (!Array.isArray(options) || !options.every((o) => typeof o === "string")) {
        add('expected options={["...", "...", "..."]}, a list of double-quoted strings');
        continue;
      }
      const myth =
        options.length === 2 &&
        options
          .map((o: string) => o.toLowerCase())
          .sort()
          .join() === "false,true";
      if (options.length < 3 && !myth)
        add(
          `expected at least 3 options (with ${options.length}, a guess wins too often); only a true/false myth has 2: ["True", "False"]`,
        );
      const answer = Number(/answer=\{(\d+)\}/.exec(match[0])?.[1]);
      if (!(answer >= 0 && answer < options.length))
        add(`expected answer={N} with N the index of one of its ${options.length} options`);
    }
  }
  return problems;
}

/** Links from one lesson to another (or to a heading) must land on something that exists. */
export function checkLinks(lessons: LessonText[]): LessonProblem[] {
  const problems: LessonProblem[] = [];
  const bySlug = new Map(lessons.map((l) => [l.slug, l]));
  const byFolder = new Map(lessons.map((l) => [l.folder, l]));
  const known = () => lessons.map((l) => `/lessons/${l.slug}/`).join(", ");
  for (const lesson of lessons) {
    for (const { target, line } of linkTargets(lesson.body)) {
      const add = (message: string) =>
        problems.push({
          file: lesson.file,
          field: `(body) line ${lesson.bodyLine + line - 1}`,
          message: `link "${target}": ${message}`,
        });
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue; // https:, mailto:, ...
      const [pathPart, anchor] = target.split("#", 2) as [string, string | undefined];
      let path = pathPart;
      if (path === "") {
        if (anchor && !lesson.headings.has(anchor))
          add(
            `expected a heading of this lesson with the id "${anchor}" (headings: ${[...lesson.headings].join(", ") || "none"})`,
          );
        continue;
      }
      if (!path.startsWith("/")) path = new URL(path, `http://x/lessons/${lesson.slug}/`).pathname;
      if (!path.startsWith("/lessons/")) continue; // another page of the site
      const m = /^\/lessons\/([^/]*)(\/.*)?$/.exec(path)!;
      const name = m[1]!;
      if (name === "") continue; // the course overview
      const rest = m[2] ?? "";
      const target_ = bySlug.get(name) ?? byFolder.get(name);
      if (!target_) {
        add(
          `expected a lesson's address like /lessons/<slug>/ (the folder name without its number); known: ${known()}`,
        );
        continue;
      }
      if (name !== target_.slug || (rest !== "/" && rest !== "")) {
        add(
          `expected /lessons/${target_.slug}/${anchor ? `#${anchor}` : ""} (the site's address of ${target_.folder}, not a file path)`,
        );
        continue;
      }
      if (rest === "") {
        add(`expected a trailing slash: /lessons/${target_.slug}/${anchor ? `#${anchor}` : ""}`);
        continue;
      }
      if (anchor && !target_.headings.has(anchor))
        add(
          `expected a heading of ${target_.folder} with the id "${anchor}" (headings: ${[...target_.headings].join(", ") || "none"})`,
        );
    }
  }
  return problems;
}

/** Leftovers and ambiguity in exercise folders, scripts that do not parse, TS checks that do not load. */
export async function checkExerciseFiles(
  lessons: LessonText[],
  lessonsDir: string,
  root: string,
): Promise<LessonProblem[]> {
  const problems: LessonProblem[] = [];
  for (const lesson of lessons) {
    const exDir = join(lessonsDir, lesson.folder, "exercises");
    const known = new Map(lesson.exercises.map((e) => [e.id, e]));
    const folders = existsSync(exDir)
      ? readdirSync(exDir).filter((f) => statSync(join(exDir, f)).isDirectory())
      : [];
    for (const folder of folders.sort()) {
      const here = join(exDir, folder);
      const exercise = known.get(folder);
      if (!exercise) {
        problems.push({
          file: relative(root, here),
          field: "(folder)",
          message: `expected an exercise with the id "${folder}" in ${lesson.file}'s frontmatter (known: ${[...known.keys()].join(", ") || "none"}), or no such folder`,
        });
        continue;
      }
      const checksDir = join(here, "checks");
      const checks = existsSync(checksDir) ? readdirSync(checksDir).sort() : [];
      for (const file of checks) {
        const path = join(checksDir, file);
        const shown = relative(root, path);
        const m = /^(.+)\.(sh|ts)$/.exec(file);
        if (!m) {
          problems.push({
            file: shown,
            field: "(file)",
            message: "expected only <task>.sh and <task>.ts files in checks/",
          });
          continue;
        }
        const [, task, ext] = m;
        if (!exercise.tasks.includes(task!)) {
          problems.push({
            file: shown,
            field: "(file)",
            message: `expected a task "${task}" in exercise ${folder} (tasks: ${exercise.tasks.join(", ")}): a check for no task never runs`,
          });
          continue;
        }
        if (ext === "sh" && checks.includes(`${task}.ts`)) {
          problems.push({
            file: shown,
            field: "(file)",
            message: `expected one check per task: ${task}.ts exists too, and only the .ts one runs`,
          });
        }
        if (ext === "ts") {
          try {
            await loadTsCheck(path);
          } catch (error) {
            problems.push({
              file: shown,
              field: "(check)",
              message: `expected a check module that loads: ${(error as Error).message.split("\n")[0]}`,
            });
          }
        }
      }
      // cheats/<name>.sh: a shortcut that must not pass; its `# fails: <task>` line names the task that catches it.
      const cheatsDir = join(here, "cheats");
      const cheats = existsSync(cheatsDir) ? readdirSync(cheatsDir).sort() : [];
      for (const file of cheats) {
        const shown = relative(root, join(cheatsDir, file));
        if (!file.endsWith(".sh")) {
          problems.push({
            file: shown,
            field: "(file)",
            message: "expected only <name>.sh scripts in cheats/",
          });
          continue;
        }
        const task = cheatTask(readFileSync(join(cheatsDir, file), "utf8"));
        if (!task)
          problems.push({
            file: shown,
            field: "(cheat)",
            message: `expected a line "# fails: <task>" naming the task whose check catches this cheat (tasks: ${exercise.tasks.join(", ")})`,
          });
        else if (!exercise.tasks.includes(task))
          problems.push({
            file: shown,
            field: "(cheat)",
            message: `expected a task of exercise ${folder} (tasks: ${exercise.tasks.join(", ")}), not "${task}"`,
          });
      }
      const scripts = [
        "setup.sh",
        "solution.sh",
        ...checks.filter((f) => f.endsWith(".sh")).map((f) => join("checks", f)),
        ...cheats.filter((f) => f.endsWith(".sh")).map((f) => join("cheats", f)),
      ];
      for (const script of scripts) {
        const path = join(here, script);
        if (!existsSync(path)) continue;
        const result = spawnSync("bash", ["-n", path], { encoding: "utf8" });
        if (result.status !== 0)
          problems.push({
            file: relative(root, path),
            field: "(script)",
            message: `expected a bash script that parses: ${result.stderr.trim().split("\n")[0]?.replace(`${path}: `, "")}`,
          });
      }
    }
  }
  return problems;
}

export async function validateAll(
  lessonsDir: string,
  root = process.cwd(),
): Promise<{ problems: LessonProblem[]; lessons: number; exercises: number; checks: number }> {
  const lessons = readLessons(lessonsDir, root);
  const problems = [
    ...validateLessons(lessonsDir, root),
    ...checkLinks(lessons),
    ...checkQuizzes(lessons),
    ...(await checkExerciseFiles(lessons, lessonsDir, root)),
  ];
  const exercises = lessons.reduce((n, l) => n + l.exercises.length, 0);
  const checks = lessons.reduce(
    (n, l) => n + l.exercises.reduce((m, e) => m + e.tasks.length, 0),
    0,
  );
  return { problems, lessons: lessons.length, exercises, checks };
}

export async function validateCommand(ctx: CliContext): Promise<number> {
  const { problems, lessons, exercises, checks } = await validateAll(ctx.lessonsDir, process.cwd());
  if (problems.length === 0) {
    process.stdout.write(
      `${lessons} lessons, ${exercises} exercises, ${checks} tasks: no problems.\n`,
    );
    return 0;
  }
  process.stdout.write(
    problems.map(formatProblem).join("\n") +
      `\n\n${problems.length} problem${problems.length === 1 ? "" : "s"} in ${relative(process.cwd(), ctx.lessonsDir) || ctx.lessonsDir}.\n`,
  );
  return 1;
}
