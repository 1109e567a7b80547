/**
 * `stowage new <NN-slug>`: a lesson that validates and whose exercise test passes as generated,
 * so the author starts from something that works and changes one thing at a time.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile, chmod } from "node:fs/promises";
import { join, relative } from "node:path";
import type { CliContext } from "./context.ts";
import { parseLessonFolder } from "../../src/schemas/lesson.ts";

const EXERCISE = "keep-a-note";

export function titleFromSlug(slug: string): string {
  const words = slug.split("-");
  return [words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1), ...words.slice(1)].join(" ");
}

/** The import path of the check API from a check file in `checksDir`. */
export function apiImportPath(root: string, checksDir: string): string {
  const path = relative(checksDir, join(root, "sandbox", "checks", "api.ts"))
    .split("\\")
    .join("/");
  return path.startsWith(".") ? path : `./${path}`;
}

export function lessonFiles(
  folder: string,
  title: string,
  apiPath: string,
): Record<string, string> {
  const yamlTitle = JSON.stringify(title);
  return {
    "index.mdx": `---
title: ${yamlTitle}
summary: One sentence that says what the student will be able to do after this lesson.
duration: 15
objectives:
  - Keep a file in a named volume while the container that wrote it goes away
  - Check from the session's history which containers used a volume
images: [busybox]
exercises:
  - id: ${EXERCISE}
    title: A note that outlives its container
    tasks:
      - id: volume-exists
        title: Create a volume named \`notes\`.
        hints:
          - "\`docker volume create\` takes the name as its argument."
      - id: note-survives
        title: "Write \`hello\` to \`/notes/note.txt\` from a container named \`writer\` that mounts \`notes\`, then remove \`writer\`."
        hints:
          - "\`docker run --name writer -v notes:/notes busybox sh -c 'echo hello > /notes/note.txt'\`"
          - "\`docker rm writer\` removes the container; the volume stays."
---

Write the lesson here, in MDX: text, then commands the student can send to the terminal.

<Command>docker volume ls</Command>

<Aside type="tip" title="Before you publish">
  \`npx stowage validate\` checks this file; \`npx stowage test ${folder}\` proves the exercise in a fresh sandbox.
</Aside>

## Exercise

<Exercise id="${EXERCISE}" />
`,
    [`exercises/${EXERCISE}/solution.sh`]: `#!/usr/bin/env bash
# The commands a student would type; the exercise test runs this after checking that every task
# fails on a fresh sandbox, then checks that every task passes.
set -e
docker volume create notes
docker run --name writer -v notes:/notes busybox sh -c 'echo hello > /notes/note.txt'
docker rm writer
`,
    [`exercises/${EXERCISE}/cheats/keep-the-writer.sh`]: `#!/usr/bin/env bash
# fails: note-survives
# A cheat: the shortcut a hurried student takes. The exercise test runs it after setup and
# requires the task named above to fail, with a message. This one never removes writer.
set -e
docker volume create notes
docker run --name writer -v notes:/notes busybox sh -c 'echo hello > /notes/note.txt'
`,
    [`exercises/${EXERCISE}/checks/volume-exists.sh`]: `#!/usr/bin/env bash
# A shell check: runs as the student, with their docker CLI. Exit 0 passes; otherwise what it
# printed is shown to the student, so print one sentence they can act on.
docker volume inspect notes >/dev/null 2>&1 || { echo "There is no volume named notes yet: create it with docker volume create notes."; exit 1; }
`,
    [`exercises/${EXERCISE}/checks/note-survives.ts`]: `// A TypeScript check: the API is in docs/authoring-checks.md.
import { defineCheck, fail, pass } from "${apiPath}";

export default defineCheck(async (s) => {
  const uses = await s.volumeUses("notes");
  const writer = uses.find((u) => u.container === "writer" && !u.readOnly);
  if (!writer) return fail("No container named writer has mounted notes yet: run it with -v notes:/notes.");
  if (writer.removedAt === undefined) return fail("writer still exists: remove it with docker rm writer (the volume stays).");
  const note = await s.readFile({ volume: "notes", path: "note.txt" });
  if (note === undefined) return fail("writer is gone, but notes has no note.txt: write /notes/note.txt before removing it.");
  if (note.trim() !== "hello") return fail(\`note.txt is in notes, but it says "\${note.trim().slice(0, 40)}", not hello.\`);
  return pass("writer is gone and its note is still in the volume.");
});
`,
  };
}

export async function newLessonCommand(ctx: CliContext): Promise<number> {
  const folder = ctx.args[0];
  if (!folder || ctx.args.length > 1) {
    process.stderr.write(
      'Usage: npx stowage new <NN-slug> [--title "Title"], e.g. npx stowage new 12-volume-drivers\n',
    );
    return 2;
  }
  const parsed = parseLessonFolder(folder);
  if (!parsed || !/^\d{2,}-/.test(folder)) {
    process.stderr.write(
      `stowage new: expected a two-digit number and a lowercase slug like 12-volume-drivers, got "${folder}"\n`,
    );
    return 2;
  }
  const dir = join(ctx.lessonsDir, folder);
  if (existsSync(dir)) {
    process.stderr.write(
      `stowage new: ${relative(process.cwd(), dir)} already exists; nothing written\n`,
    );
    return 1;
  }
  const title =
    typeof ctx.options.title === "string" && ctx.options.title.trim()
      ? ctx.options.title.trim()
      : titleFromSlug(parsed.slug);
  const checksDir = join(dir, "exercises", EXERCISE, "checks");
  const files = lessonFiles(folder, title, apiImportPath(ctx.root, checksDir));
  for (const [name, text] of Object.entries(files)) {
    const file = join(dir, name);
    await mkdir(join(file, ".."), { recursive: true });
    await writeFile(file, text, { flag: "wx" });
    if (name.endsWith(".sh")) await chmod(file, 0o755);
  }
  const shown = relative(process.cwd(), dir) || dir;
  process.stdout.write(
    [
      `Created ${shown}/`,
      ...Object.keys(files).map((f) => `  ${f}`),
      "",
      "Next:",
      "  npx stowage dev                 write the lesson with the site live at http://localhost:4322",
      "  npx stowage validate            frontmatter, links, checks and solutions",
      `  npx stowage test ${folder}${" ".repeat(Math.max(1, 15 - folder.length))}the exercise in a fresh sandbox (checks fail before, pass after)`,
      "",
    ].join("\n"),
  );
  return 0;
}
