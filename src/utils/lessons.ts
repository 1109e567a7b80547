import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { getCollection, type CollectionEntry } from "astro:content";
import { compareLessonIds, parseLessonFolder } from "../schemas/lesson.ts";
import { siteBuildSettings } from "../schemas/site-build.ts";

export type LessonEntry = CollectionEntry<"lessons">;

export interface LessonInfo {
  /** Folder name, e.g. "02-named-volumes": the id the checks and progress APIs use. */
  id: string;
  slug: string;
  order: number;
  href: string;
  entry: LessonEntry;
}

/** Every lesson, in course order. */
export async function getLessons(): Promise<LessonInfo[]> {
  const entries = await getCollection("lessons");
  return entries
    .sort((a, b) => compareLessonIds(a.id, b.id))
    .map((entry) => {
      const parsed = parseLessonFolder(entry.id) ?? { order: 0, slug: entry.id };
      return {
        id: entry.id,
        slug: parsed.slug,
        order: parsed.order,
        href: `/lessons/${parsed.slug}/`,
        entry,
      };
    });
}

export function lessonBySlugFromPath(
  lessons: LessonInfo[],
  pathname: string,
): LessonInfo | undefined {
  const m = /\/lessons\/([^/]+)\/?/.exec(pathname);
  return m ? lessons.find((l) => l.slug === m[1]) : undefined;
}

/** Reads an exercise's solution.sh at build time. */
export function readSolution(lessonId: string, exerciseId: string): string {
  try {
    return readFileSync(
      resolve(siteBuildSettings().lessonsDir, lessonId, "exercises", exerciseId, "solution.sh"),
      "utf8",
    );
  } catch {
    return "";
  }
}

/** Drops the shebang, `set -e` lines and blank lines: what a student would actually type. */
export function solutionCommands(script: string): string {
  return script
    .split("\n")
    .filter((line) => !/^#!/.test(line) && !/^set -[a-z]+\s*$/.test(line.trim()))
    .join("\n")
    .trim();
}
