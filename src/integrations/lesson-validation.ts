import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { AstroIntegration } from "astro";
import { parse as parseYaml } from "yaml";
import { findStudentImage } from "../../sandbox/images/catalog.ts";
import { siteBuildSettings } from "../schemas/site-build.ts";
import {
  formatIssuePath,
  lessonSchema,
  parseLessonFolder,
  splitFrontmatter,
} from "../schemas/lesson.ts";

/** One thing wrong with a lesson: which file, which field, what was expected. */
export interface LessonProblem {
  file: string;
  field: string;
  message: string;
}

export function formatProblem(p: LessonProblem): string {
  return `${p.file}: ${p.field}: ${p.message}`;
}

/**
 * Validates every lesson folder under `lessonsDir`: the frontmatter against the schema, the
 * images against the course catalog, and for each exercise its folder, solution.sh and one
 * checks/<task>.sh|.ts per task. `root` only shortens the file names in messages.
 */
export function validateLessons(lessonsDir: string, root = process.cwd()): LessonProblem[] {
  const problems: LessonProblem[] = [];
  if (!existsSync(lessonsDir))
    return [
      {
        file: relative(root, lessonsDir) || lessonsDir,
        field: "(folder)",
        message: "the lessons folder does not exist",
      },
    ];
  for (const folder of readdirSync(lessonsDir).sort()) {
    const dir = join(lessonsDir, folder);
    if (!statSync(dir).isDirectory() || folder.startsWith(".") || folder.startsWith("_")) continue;
    problems.push(...validateLesson(dir, root));
  }
  return problems;
}

export function validateLesson(dir: string, root = process.cwd()): LessonProblem[] {
  const problems: LessonProblem[] = [];
  const folder = dir.split(/[\\/]/).pop()!;
  const indexPath = join(dir, "index.mdx");
  const file = relative(root, indexPath);
  const add = (field: string, message: string, f = file) =>
    problems.push({ file: f, field, message });
  if (!parseLessonFolder(folder)) {
    add(
      "(folder name)",
      `expected a number prefix and a slug like 02-named-volumes, got "${folder}"`,
      relative(root, dir),
    );
  }
  if (!existsSync(indexPath)) {
    add("(file)", "expected an index.mdx in every lesson folder");
    return problems;
  }
  const split = splitFrontmatter(readFileSync(indexPath, "utf8"));
  if (!split) {
    add("(frontmatter)", "expected a YAML frontmatter block between --- lines at the top");
    return problems;
  }
  let raw: unknown;
  try {
    raw = parseYaml(split.yaml);
  } catch (error) {
    add("(frontmatter)", `expected valid YAML: ${(error as Error).message.split("\n")[0]}`);
    return problems;
  }
  const parsed = lessonSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) add(formatIssuePath(issue.path), issue.message);
    return problems;
  }
  const lesson = parsed.data;
  lesson.images.forEach((ref, i) => {
    if (!findStudentImage(ref))
      add(
        `images.${i}`,
        `expected one of the course images (sandbox/images/catalog.ts), got "${ref}"`,
      );
  });
  lesson.exercises.forEach((exercise, i) => {
    const exDir = join(dir, "exercises", exercise.id);
    if (!existsSync(exDir)) {
      add(
        `exercises.${i}.id`,
        `expected a folder ${relative(root, exDir)}/ for exercise "${exercise.id}"`,
      );
      return;
    }
    if (!existsSync(join(exDir, "solution.sh"))) {
      add(
        `exercises.${i}.id`,
        `expected ${relative(root, join(exDir, "solution.sh"))} (the commands a student would type)`,
      );
    }
    exercise.tasks.forEach((task, j) => {
      const sh = join(exDir, "checks", `${task.id}.sh`);
      const ts = join(exDir, "checks", `${task.id}.ts`);
      if (!existsSync(sh) && !existsSync(ts)) {
        add(
          `exercises.${i}.tasks.${j}.id`,
          `expected a check ${relative(root, sh)} or .ts for task "${task.id}"`,
        );
      }
    });
  });
  const known = new Set(lesson.exercises.map((e) => e.id));
  for (const m of split.body.matchAll(/<Exercise\s+id=["']([^"']+)["']/g)) {
    if (!known.has(m[1]!))
      add(
        "(body)",
        `<Exercise id="${m[1]}" /> names no exercise in the frontmatter (known: ${[...known].join(", ") || "none"})`,
      );
  }
  return problems;
}

/** Fails `astro build` (and warns in `astro dev`) when a lesson is broken. */
export default function lessonValidation(options: { dir?: string } = {}): AstroIntegration {
  return {
    name: "stowage:lesson-validation",
    hooks: {
      "astro:config:setup": ({ config, command, logger }) => {
        const root = new URL(".", config.root).pathname;
        const dir = options.dir ?? resolve(root, siteBuildSettings().lessonsDir);
        const problems = validateLessons(dir, root);
        if (problems.length === 0) return;
        const text =
          `${problems.length} problem(s) in the lessons:\n` +
          problems.map((p) => "  " + formatProblem(p)).join("\n");
        if (command === "dev") logger.warn(text);
        else throw new Error(text);
      },
    },
  };
}
