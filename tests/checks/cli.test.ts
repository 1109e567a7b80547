/**
 * The instructor's CLI as instructors run it: `node bin/stowage.js <command>` in a child process.
 * new scaffolds a lesson that validates and whose exercise test passes; validate names the file,
 * the field and what was expected; test proves a real lesson and fails on a broken one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile, appendFile } from "node:fs/promises";
import { join, resolve } from "node:path";

const cli = resolve("bin/stowage.js");

function stowage(
  args: string[],
  timeoutMs = 120_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, reject) => {
    const env = { ...process.env };
    delete env.STOWAGE_LESSONS_DIR;
    const child = spawn(process.execPath, [cli, ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c));
    child.stderr.on("data", (c: Buffer) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGINT"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

let tmp: string;
beforeAll(async () => {
  await mkdir(resolve(".data"), { recursive: true });
  tmp = await mkdtemp(join(resolve(".data"), "cli-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("stowage new", () => {
  it("scaffolds a lesson with valid frontmatter, a shell check, a TypeScript check and a solution", async () => {
    const dir = join(tmp, "new");
    const made = await stowage(["new", "12-volume-drivers", "--lessons", dir]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain("npx stowage test 12-volume-drivers");
    const lesson = join(dir, "12-volume-drivers");
    for (const file of [
      "index.mdx",
      "exercises/keep-a-note/solution.sh",
      "exercises/keep-a-note/checks/volume-exists.sh",
      "exercises/keep-a-note/checks/note-survives.ts",
    ]) {
      expect(existsSync(join(lesson, file)), file).toBe(true);
    }
    expect(await readFile(join(lesson, "index.mdx"), "utf8")).toMatch(
      /^---\ntitle: "Volume drivers"\n/,
    );

    const valid = await stowage(["validate", "--lessons", dir]);
    expect(valid.stdout).toBe("1 lessons, 1 exercises, 2 tasks: no problems.\n");
    expect(valid.code).toBe(0);

    const again = await stowage(["new", "12-volume-drivers", "--lessons", dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists; nothing written/);
    const badName = await stowage(["new", "Volume Drivers", "--lessons", dir]);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/expected a two-digit number and a lowercase slug/);
  });
});

describe("stowage validate", () => {
  it("passes the course as it is", async () => {
    const result = await stowage(["validate"]);
    expect(result.stdout).toMatch(/^\d+ lessons, \d+ exercises, \d+ tasks: no problems\.\n$/);
    expect(result.code).toBe(0);
  });

  it("names the file, the field and what was expected for every problem, and exits 1", async () => {
    const dir = join(tmp, "broken");
    expect((await stowage(["new", "12-volume-drivers", "--lessons", dir])).code).toBe(0);
    expect((await stowage(["new", "13-second", "--lessons", dir])).code).toBe(0);
    const one = join(dir, "12-volume-drivers");
    const two = join(dir, "13-second");
    const ex = join(one, "exercises", "keep-a-note");
    await rm(join(ex, "solution.sh"));
    await writeFile(join(ex, "checks", "stale.sh"), "exit 0\n");
    await writeFile(join(ex, "checks", "volume-exists.ts"), "export default 42;\n");
    await writeFile(join(ex, "setup.sh"), "if then fi\n");
    await mkdir(join(one, "exercises", "orphan"));
    await mkdir(join(ex, "cheats"), { recursive: true });
    await writeFile(join(ex, "cheats", "unlabelled.sh"), "docker volume create app-data\n");
    await writeFile(join(ex, "cheats", "wrong-task.sh"), "# fails: nope\ntrue\n");
    const index = join(two, "index.mdx");
    await writeFile(index, (await readFile(index, "utf8")).replace("duration: 15", "duration: 70"));
    await appendFile(
      index,
      [
        "",
        "See [the drivers](/lessons/volume-drivers/#exercise), [again](../volume-drivers/) and [home](/lessons/).",
        "Broken: [no slash](/lessons/volume-drivers), [unknown](/lessons/nope/), [a file](../12-volume-drivers/index.mdx),",
        '[no heading](#nowhere) and <a href="/lessons/volume-drivers/#missing">this</a>. Not a link: `[x](/lessons/zzz/)`.',
        '<Quiz kind="predict" question="A coin toss?" options={["Yes", "No"]} answer={0}>A guess wins half the time.</Quiz>',
        '<Quiz kind="choice" question="Myth: volumes are copied between hosts." options={["True", "False"]} answer={1}>A myth may be true/false.</Quiz>',
        "",
      ].join("\n"),
    );
    const result = await stowage(["validate", "--lessons", dir]);
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split("\n");
    const rel = (p: string) => p.replace(`${process.cwd()}/`, "");
    const expected = [
      `${rel(two)}/index.mdx: duration: at most 60 minutes`,
      `${rel(one)}/index.mdx: exercises.0.id: expected ${rel(ex)}/solution.sh (the commands a student would type)`,
      `${rel(two)}/index.mdx: (body) line 37: link "/lessons/volume-drivers": expected a trailing slash: /lessons/volume-drivers/`,
      `${rel(two)}/index.mdx: (body) line 37: link "/lessons/nope/": expected a lesson's address like /lessons/<slug>/ (the folder name without its number); known: /lessons/volume-drivers/, /lessons/second/`,
      `${rel(two)}/index.mdx: (body) line 37: link "../12-volume-drivers/index.mdx": expected /lessons/volume-drivers/ (the site's address of 12-volume-drivers, not a file path)`,
      `${rel(two)}/index.mdx: (body) line 38: link "#nowhere": expected a heading of this lesson with the id "nowhere" (headings: exercise)`,
      `${rel(two)}/index.mdx: (body) line 38: link "/lessons/volume-drivers/#missing": expected a heading of 12-volume-drivers with the id "missing" (headings: exercise)`,
      `${rel(one)}/exercises/orphan: (folder): expected an exercise with the id "orphan" in ${rel(one)}/index.mdx's frontmatter (known: keep-a-note), or no such folder`,
      `${rel(ex)}/checks/stale.sh: (file): expected a task "stale" in exercise keep-a-note (tasks: volume-exists, note-survives): a check for no task never runs`,
      `${rel(ex)}/checks/volume-exists.sh: (file): expected one check per task: volume-exists.ts exists too, and only the .ts one runs`,
      `${rel(ex)}/checks/volume-exists.ts: (check): expected a check module that loads: its default export is not a check: expected \`export default defineCheck(async (s) => ...)\``,
      `${rel(two)}/index.mdx: (body) line 39: quiz "A coin toss?": expected at least 3 options (with 2, a guess wins too often); only a true/false myth has 2: ["True", "False"]`,
      `${rel(ex)}/cheats/unlabelled.sh: (cheat): expected a line "# fails: <task>" naming the task whose check catches this cheat (tasks: volume-exists, note-survives)`,
      `${rel(ex)}/cheats/wrong-task.sh: (cheat): expected a task of exercise keep-a-note (tasks: volume-exists, note-survives), not "nope"`,
    ];
    for (const line of expected) expect(lines, result.stdout).toContain(line);
    expect(
      lines.some((l) =>
        l.startsWith(`${rel(ex)}/setup.sh: (script): expected a bash script that parses:`),
      ),
      result.stdout,
    ).toBe(true);
    expect(result.stdout).not.toContain("zzz");
    expect(result.stdout).not.toContain("Myth: volumes");
    expect(result.stdout).toContain("15 problems in");
  });
});

describe("stowage test", () => {
  it("proves a real lesson in a fresh sandbox and prints a row per task", async () => {
    const result = await stowage(["test", "05-tmpfs"]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^PASS {2}05-tmpfs \/ scratch-in-memory {2}\(\d+\.\d s\)$/m);
    expect(result.stdout).toMatch(/^ {4}cruncher-tmpfs +failed +passed$/m);
    expect(result.stdout).toMatch(/^ {4}locked-down +failed +passed$/m);
    expect(result.stdout).toMatch(/^1 passed, 0 failed \(1 exercise, \d+\.\d s\)$/m);
  });

  it("passes the scaffold, fails a lesson whose check passes too early or whose solution falls short, and exits 1", async () => {
    const dir = join(tmp, "test");
    expect((await stowage(["new", "12-good", "--lessons", dir])).code).toBe(0);
    expect((await stowage(["new", "13-bad", "--lessons", dir])).code).toBe(0);
    const bad = join(dir, "13-bad", "exercises", "keep-a-note");
    await writeFile(join(bad, "checks", "volume-exists.sh"), "exit 0\n");
    await writeFile(
      join(bad, "solution.sh"),
      (await readFile(join(bad, "solution.sh"), "utf8")).replace("docker rm writer\n", ""),
    );
    await writeFile(
      join(bad, "cheats", "only-the-volume.sh"),
      "# fails: volume-exists\ndocker volume create notes\n",
    );
    const result = await stowage(["test", "--lessons", dir, "-j", "2"]);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(/^PASS {2}12-good \/ keep-a-note/m);
    expect(result.stdout).toMatch(/^ {4}note-survives +failed +passed$/m);
    // The scaffold's cheat is caught; 13-bad's volume-exists check (exit 0) lets its cheat through.
    expect(result.stdout).toContain(
      "    cheat keep-the-writer: caught by note-survives: writer still exists: remove it with docker rm writer (the volume stays).",
    );
    expect(result.stdout).toMatch(
      /^ {2}✗ cheat only-the-volume: NOT CAUGHT \(volume-exists must fail\): volume-exists passed, note-survives failed$/m,
    );
    expect(result.stdout).toMatch(/^FAIL {2}13-bad \/ keep-a-note/m);
    expect(result.stdout).toMatch(/^ {2}✗ volume-exists +PASSED \(wrong\) +passed$/m);
    expect(result.stdout).toContain(
      "before: the check passed on an untouched sandbox, so it does not test the task",
    );
    expect(result.stdout).toMatch(/^ {2}✗ note-survives +failed +FAILED \(wrong\)$/m);
    expect(result.stdout).toContain(
      "after: writer still exists: remove it with docker rm writer (the volume stays).",
    );
    expect(result.stdout).toMatch(/^1 passed, 1 failed \(2 exercises, /m);

    const none = await stowage(["test", "nope", "--lessons", dir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no lesson "nope"/);
  });
});
