import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineCollection } from "astro:content";
import { glob } from "astro/loaders";
import { lessonSchema } from "./schemas/lesson.ts";
import { siteBuildSettings } from "./schemas/site-build.ts";

const lessons = defineCollection({
  loader: glob({
    // STOWAGE_LESSONS_DIR lets tests build the site from fixture lessons.
    base: siteBuildSettings().lessonsDir,
    pattern: "*/index.mdx",
    // The folder name ("02-named-volumes") is the lesson id the checks API uses.
    generateId: ({ entry }) => entry.split("/")[0]!,
  }),
  schema: lessonSchema,
});

// Guides from docs/ rendered on the site: docs/authoring-checks.md (the TypeScript check API and the
// stowage CLI) becomes part of /authoring/. Missing files are fine: the page says so instead.
// STOWAGE_DOCS_DIR lets tests build with a fixture guide.
const docsDir = process.env.STOWAGE_DOCS_DIR ?? "./docs";
const guides = defineCollection({
  loader: existsSync(join(docsDir, "authoring-checks.md"))
    ? glob({ base: docsDir, pattern: "authoring-checks.md" })
    : () => [],
});

export const collections = { lessons, guides };
