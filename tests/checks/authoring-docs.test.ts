/**
 * The TypeScript checks in docs/authoring-checks.md (also the /authoring/ page, which renders
 * that file: src/content.config.ts) work when copied: each example, written into a lesson's
 * checks/ folder at the depth of lessons/<lesson>/exercises/<exercise>/checks/, imports as it
 * stands and typechecks against the real api.ts.
 */
import { afterAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import { isCheckDefinition } from "../../sandbox/checks/api.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const GUIDE = join(ROOT, "docs/authoring-checks.md");
// A folder beside lessons/ at the repository's root, so the relative paths are the same as from
// lessons/ (writing into lessons/ itself would disturb whatever else reads it meanwhile).
const scratch = join(ROOT, `.doc-snippets-${randomBytes(4).toString("hex")}`);
const checksDir = join(scratch, "99-copied", "exercises", "from-the-guide", "checks");

/** The ```ts blocks of the guide that start with `// checks/<name>.ts`: what an author copies. */
function checkSnippets(markdown: string): Array<{ name: string; code: string }> {
  const snippets: Array<{ name: string; code: string }> = [];
  for (const match of markdown.matchAll(/```ts\n(\/\/ checks\/([\w-]+\.ts)\n[\s\S]*?)```/g))
    snippets.push({ name: match[2]!, code: match[1]! });
  return snippets;
}

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("the TypeScript check examples of the authoring guide", async () => {
  const guide = await readFile(GUIDE, "utf8");
  const snippets = checkSnippets(guide);

  it("are there, and every import of the check API in the guide uses the one path that works", () => {
    expect(snippets.length).toBeGreaterThanOrEqual(3);
    const imports = [...guide.matchAll(/from "([^"]*sandbox\/checks\/api\.ts)"/g)].map((m) => m[1]);
    const fromLesson = relative(
      join(ROOT, "lessons", "01-x", "exercises", "x", "checks"),
      join(ROOT, "sandbox", "checks", "api.ts"),
    );
    expect(fromLesson).toBe("../../../../../sandbox/checks/api.ts");
    expect(new Set(imports)).toEqual(new Set([fromLesson]));
  });

  it("import from a lesson's checks/ folder as written, each a defineCheck", async () => {
    await mkdir(checksDir, { recursive: true });
    for (const { name, code } of snippets) {
      const file = join(checksDir, name);
      await writeFile(file, code);
      const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
      expect(isCheckDefinition(module.default), name).toBe(true);
    }
  });

  it("typecheck against the real check API", async () => {
    await mkdir(checksDir, { recursive: true });
    for (const { name, code } of snippets) await writeFile(join(checksDir, name), code);
    const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
    const files = snippets.map((s) => join(checksDir, s.name));
    const result = await promisify(execFile)(
      process.execPath,
      [
        tsc,
        "--noEmit",
        "--strict",
        "--target",
        "es2024",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--allowImportingTsExtensions",
        "--skipLibCheck",
        "--types",
        "node",
        ...files,
      ],
      { cwd: ROOT },
    ).then(
      () => ({ ok: true, output: "" }),
      (error: { stdout?: string; stderr?: string }) => ({
        ok: false,
        output: `${error.stdout ?? ""}${error.stderr ?? ""}`,
      }),
    );
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  }, 60_000);
});
