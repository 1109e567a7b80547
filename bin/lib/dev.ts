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

/** Where astro.config.mjs's dev proxy sends /api (the server must listen there). */
export const DEV_SERVER_PORT = 4321;
/** astro.config.mjs: server.port. */
export const DEV_SITE_PORT = 4322;

function prefixed(child: ChildProcess, label: string): void {
  for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]] as const) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => out.write(`${label} ${line}\n`));
  }
}

export async function devCommand(ctx: CliContext): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, STOWAGE_LESSONS_DIR: ctx.lessonsDir, FORCE_COLOR: process.env.FORCE_COLOR ?? (process.stdout.isTTY ? "1" : "0") };
  if (env.STOWAGE_PORT && Number(env.STOWAGE_PORT) !== DEV_SERVER_PORT) {
    process.stderr.write(`stowage dev: the site's dev proxy sends /api to port ${DEV_SERVER_PORT} (astro.config.mjs); unset STOWAGE_PORT=${env.STOWAGE_PORT}\n`);
    return 2;
  }
  process.stderr.write("Checking the course images...\n");
  await ensureImages();

  const children: ChildProcess[] = [];
  const server = spawn(process.execPath, [join(ctx.root, "sandbox", "server.ts")], { cwd: ctx.root, env: { ...env, STOWAGE_PORT: String(DEV_SERVER_PORT) }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(server);
  prefixed(server, "[server]");
  const site = spawn(process.execPath, [join(ctx.root, "node_modules", "astro", "bin", "astro.mjs"), "dev", "--port", String(DEV_SITE_PORT)], { cwd: ctx.root, env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(site);
  prefixed(site, "[site]  ");

  process.stdout.write(
    `\n  Lessons: http://localhost:${DEV_SITE_PORT}/  (live reload; /api and terminals go to the sandbox server on :${DEV_SERVER_PORT})\n` +
      `  Lessons folder: ${ctx.lessonsDir}\n  Checks and task lists are read from disk on every run. Ctrl-C stops both.\n\n`,
  );

  return await new Promise<number>((resolve) => {
    let code: number | undefined;
    let alive = children.length;
    const stopAll = (signal: NodeJS.Signals) => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const [child, name] of [[server, "sandbox server"], [site, "astro dev"]] as const) {
      child.on("exit", (exitCode, signal) => {
        alive--;
        if (code === undefined) {
          code = exitCode ?? (signal ? 0 : 1);
          if (exitCode) process.stderr.write(`stowage dev: the ${name} stopped (exit ${exitCode})${name === "sandbox server" ? `; is port ${DEV_SERVER_PORT} taken by another server (npm start)?` : ""}\n`);
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
