import { z } from "zod";

/**
 * The frontmatter of `lessons/<NN-slug>/index.mdx`: the contract with the course writers
 * (docs/lesson-format.md). Used by the content collection and by the build-time validation.
 */

const ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const IMAGE_REF = /^[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[A-Za-z0-9_.-]+)?$/;

export const taskSchema = z
  .object({
    id: z
      .string()
      .regex(ID, "a lowercase id like volume-exists (letters, digits, dashes)")
      .describe("Task id; the check is exercises/<exercise>/checks/<id>.sh or .ts"),
    title: z
      .string()
      .min(1, "a one-line markdown sentence")
      .refine((s) => !s.includes("\n"), "one line of markdown")
      .describe("What the student must do, one line of markdown"),
    hints: z
      .array(z.string().min(1, "a non-empty hint"))
      .default([])
      .describe("Hints revealed one at a time, most general first"),
  })
  .strict()
  .describe("One checked step of an exercise");

export const exerciseSchema = z
  .object({
    id: z
      .string()
      .regex(ID, "a lowercase folder name like keep-the-data")
      .describe("Exercise id: the folder name under exercises/ and the id in <Exercise id=...>"),
    title: z.string().min(1, "a short title").describe("Exercise title shown above its tasks"),
    tasks: z
      .array(taskSchema)
      .min(1, "at least one task")
      .describe("The tasks in the order the student does them")
      .refine(
        (tasks) => new Set(tasks.map((t) => t.id)).size === tasks.length,
        "task ids must be unique",
      ),
  })
  .strict()
  .describe("An exercise checked on the student's Docker engine");

export const lessonSchema = z
  .object({
    title: z.string().min(1, "a title").describe("Lesson title"),
    summary: z
      .string()
      .min(1, "one sentence")
      .describe("One sentence, shown on the course overview"),
    duration: z
      .number("a number of minutes")
      .int("a whole number of minutes")
      .min(5, "at least 5 minutes")
      .max(60, "at most 60 minutes")
      .describe("Estimated minutes a first-time student needs, 5..60"),
    objectives: z
      .array(z.string().min(1))
      .min(2, "2 to 6 objectives")
      .max(6, "2 to 6 objectives")
      .describe("2..6 things the student will be able to do afterwards"),
    images: z
      .array(z.string().regex(IMAGE_REF, "an image reference like busybox or debian:bookworm-slim"))
      .default([])
      .describe("Images the lesson uses; each must be one of the course images we build"),
    exercises: z
      .array(exerciseSchema)
      .default([])
      .describe("Zero or more exercises, each a folder under exercises/")
      .refine(
        (ex) => new Set(ex.map((e) => e.id)).size === ex.length,
        "exercise ids must be unique",
      ),
  })
  .strict()
  .describe("Frontmatter of a lesson's index.mdx");

export type LessonFrontmatter = z.infer<typeof lessonSchema>;
export type Exercise = z.infer<typeof exerciseSchema>;
export type Task = z.infer<typeof taskSchema>;

/** "02-named-volumes" -> { order: 2, slug: "named-volumes" }; undefined when it has no number prefix. */
export function parseLessonFolder(folder: string): { order: number; slug: string } | undefined {
  const m = /^(\d+)-([a-z0-9]+(?:-[a-z0-9]+)*)$/.exec(folder);
  if (!m) return undefined;
  return { order: Number(m[1]), slug: m[2]! };
}

/** Sorts lesson folder ids by their number prefix (then by name). */
export function compareLessonIds(a: string, b: string): number {
  const pa = parseLessonFolder(a);
  const pb = parseLessonFolder(b);
  const oa = pa?.order ?? Number.MAX_SAFE_INTEGER;
  const ob = pb?.order ?? Number.MAX_SAFE_INTEGER;
  return oa - ob || a.localeCompare(b);
}

/** Formats a zod issue as "field.path: message". */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.length ? path.map(String).join(".") : "(frontmatter)";
}

/**
 * Splits a lesson's `index.mdx` into `---\nyaml\n---\nbody`; undefined when the file has no
 * frontmatter block. The site's validation and the server's checks (the task list) both read it.
 */
export function splitFrontmatter(text: string): { yaml: string; body: string } | undefined {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text);
  return m ? { yaml: m[1]!, body: m[2]! } : undefined;
}
