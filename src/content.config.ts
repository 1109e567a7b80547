import { defineCollection } from "astro:content";
import { glob } from "astro/loaders";
import { lessonSchema } from "./schemas/lesson.ts";

const lessons = defineCollection({
  loader: glob({
    // STOWAGE_LESSONS_DIR lets tests build the site from fixture lessons.
    base: process.env.STOWAGE_LESSONS_DIR ?? "./lessons",
    pattern: "*/index.mdx",
    // The folder name ("02-named-volumes") is the lesson id the checks API uses.
    generateId: ({ entry }) => entry.split("/")[0]!,
  }),
  schema: lessonSchema,
});

export const collections = { lessons };
