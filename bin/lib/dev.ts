/**
 * `stowage dev`: two processes for writing lessons.
 *
 *   browser ── http://localhost:4322 ──> astro dev (the site, rebuilt on every save)
 *                                          │ /api/* and the terminal WebSocket (vite proxy,
 *                                          ▼ astro.config.mjs: server.proxy)
 *                                        sandbox server on :4321 (sessions, terminals, checks)
 *
 * astro.config.mjs sets trailingSlash "ignore" under `astro dev` (without it astro dev answers /api
 * itself instead of proxying it).
 *
 * Checks are read from disk on every run (shell checks each time, TypeScript checks re-imported
 * when the file changed), and the task list from the lesson's frontmatter, so editing a lesson's
 * text, exercises or checks needs no restart. Ctrl-C stops both.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { ensureImages } from "../../sandbox/images/build.ts";
import type { CliContext } from "./context.ts";

/** Where astro.config.mjs's dev proxy sends /api by default (STOWAGE_PORT moves both). */
export const DEV_SERVER_PORT = 4321;
/**
 * The dev server's own instance name and data folder (unless set): beside a live class
 * (`npm start`, instance main, .data) it never shares labels or session folders, and its
 * start-up cleanup touches only what an earlier dev server left. The port is checked by the
 * server itself before any cleanup (sandbox/sessions/instance-claim.ts).
 */
export const DEV_INSTANCE = "dev";
export const DEV_DATA_DIR = ".data-dev";
/** astro.config.mjs: server.port. */
export const DEV_SITE_PORT = 4322;

function prefixed(child: ChildProcess, label: string): void {
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => out.write(`${label} ${line}\n`));
  }
}

export async function devCommand(ctx: CliContext): Promise<number> {
  const serverPort = Number(process.env.STOWAGE_PORT || DEV_SERVER_PORT);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STOWAGE_LESSONS_DIR: ctx.lessonsDir,
    STOWAGE_PORT: String(serverPort),
    STOWAGE_INSTANCE: process.env.STOWAGE_INSTANCE || DEV_INSTANCE,
    STOWAGE_DATA_DIR: process.env.STOWAGE_DATA_DIR || join(ctx.root, DEV_DATA_DIR),
    FORCE_COLOR: process.env.FORCE_COLOR ?? (process.stdout.isTTY ? "1" : "0"),
  };
  process.stderr.write("Checking the course images...\n");
  await ensureImages();

  const children: ChildProcess[] = [];
  const server = spawn(process.execPath, [join(ctx.root, "sandbox", "server.ts")], {
    cwd: ctx.root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(server);
  prefixed(server, "[server]");
  const site = spawn(
    process.execPath,
    [
      join(ctx.root, "node_modules", "astro", "bin", "astro.mjs"),
      "dev",
      "--port",
      String(DEV_SITE_PORT),
    ],
    { cwd: ctx.root, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(site);
  prefixed(site, "[site]  ");

  process.stdout.write(
    `\n  Lessons: http://localhost:${DEV_SITE_PORT}/  (live reload; /api and terminals go to the sandbox server on :${serverPort})\n` +
      `  Lessons folder: ${ctx.lessonsDir}; sandbox instance ${env.STOWAGE_INSTANCE}, data in ${env.STOWAGE_DATA_DIR}\n  Checks and task lists are read from disk on every run. Ctrl-C stops both.\n\n`,
  );

  return await new Promise<number>((resolve) => {
    let code: number | undefined;
    let alive = children.length;
    const stopAll = (signal: NodeJS.Signals) => {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const [child, name] of [
      [server, "sandbox server"],
      [site, "astro dev"],
    ] as const) {
      child.on("exit", (exitCode, signal) => {
        alive--;
        if (code === undefined) {
          code = exitCode ?? (signal ? 0 : 1);
          if (exitCode)
            process.stderr.write(
              `stowage dev: the ${name} stopped (exit ${exitCode}); its reason is on the line above\n`,
            );
          stopAll("SIGTERM");
        }
        if (alive === 0) resolve(code);
      });
    }
    const onSignal = () => {
      code ??= 0;
      stopAll("SIGTERM");
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
}
