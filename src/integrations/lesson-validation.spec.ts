import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { formatProblem, validateLessons } from "./lesson-validation.ts";
import { splitFrontmatter } from "../schemas/lesson.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const FIXTURES = join(ROOT, "tests/e2e/fixtures");

describe("lesson validation", () => {
  it("accepts the fixture lessons", () => {
    expect(validateLessons(join(FIXTURES, "lessons"), ROOT)).toEqual([]);
  });

  it("names the file, the field and what was expected", () => {
    const messages = validateLessons(join(FIXTURES, "broken-lessons"), ROOT).map(formatProblem);
    expect(messages).toContain(
      "tests/e2e/fixtures/broken-lessons/01-bad-duration/index.mdx: duration: at most 60 minutes",
    );
    expect(messages).toContainEqual(
      expect.stringMatching(
        /^tests\/e2e\/fixtures\/broken-lessons\/02-missing-files\/index\.mdx: exercises\.0\.id: expected .*half-done\/solution\.sh/,
      ),
    );
    expect(messages).toContainEqual(
      expect.stringMatching(
        /02-missing-files\/index\.mdx: exercises\.0\.tasks\.1\.id: expected a check .*checks\/no-check\.sh or \.ts for task "no-check"/,
      ),
    );
    expect(messages.some((m) => m.includes("has-check"))).toBe(false);
  });

  it("reports unknown fields, bad ids, unknown images and dangling <Exercise>", () => {
    const dir = mkdtempSync(join(tmpdir(), "stowage-lessons-"));
    try {
      cpSync(join(FIXTURES, "lessons"), dir, { recursive: true });
      const file = join(dir, "01-fixture-volumes/index.mdx");
      const text = `---\ntitle: T\nsummary: S\nduration: 10\nobjectives: [a, b]\nimages: [mysql, stowage/host-tools]\nexercises: []\n---\n<Exercise id="nope" />\n`;
      writeFileSync(file, text);
      const problems = validateLessons(dir, dir).map(formatProblem);
      expect(problems).toContain(
        `01-fixture-volumes/index.mdx: images.0: expected one of the course images (sandbox/images/catalog.ts), got "mysql"`,
      );
      // The server's own helper image is no lesson's to name (docker/host-helper.ts).
      expect(problems).toContain(
        `01-fixture-volumes/index.mdx: images.1: expected one of the course images (sandbox/images/catalog.ts), got "stowage/host-tools"`,
      );
      expect(problems).toContainEqual(
        expect.stringContaining(
          `01-fixture-volumes/index.mdx: (body): <Exercise id="nope" /> names no exercise`,
        ),
      );
      writeFileSync(
        file,
        `---\ntitle: T\nsummary: S\nduration: 10\nobjectives: [a, b]\ncolour: red\nexercises: [{id: Bad_Id, title: x, tasks: [{id: t, title: y}]}]\n---\n`,
      );
      const more = validateLessons(dir, dir).map(formatProblem);
      expect(more).toContainEqual(expect.stringMatching(/index\.mdx: \(frontmatter\): .*colour/));
      expect(more).toContain(
        "01-fixture-volumes/index.mdx: exercises.0.id: a lowercase folder name like keep-the-data",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("splits frontmatter", () => {
    expect(splitFrontmatter("---\na: 1\n---\nbody")).toEqual({ yaml: "a: 1", body: "body" });
    expect(splitFrontmatter("no frontmatter")).toBeUndefined();
  });

  it("fails `astro build` with the file and field of a broken lesson", async () => {
    const out = mkdtempSync(join(tmpdir(), "stowage-dist-"));
    try {
      const error = await promisify(execFile)(
        process.execPath,
        [join(ROOT, "node_modules/astro/bin/astro.mjs"), "build", "--silent"],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            STOWAGE_LESSONS_DIR: join(FIXTURES, "broken-lessons"),
            STOWAGE_OUT_DIR: out,
          },
        },
      ).then(
        () => undefined,
        (e: { stderr: string; stdout: string }) => e,
      );
      expect(error, "the build should fail").toBeDefined();
      const output = `${error!.stdout}\n${error!.stderr}`;
      expect(output).toContain(
        "tests/e2e/fixtures/broken-lessons/01-bad-duration/index.mdx: duration: at most 60 minutes",
      );
      expect(output).toContain("02-missing-files/index.mdx: exercises.0.tasks.1.id");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
