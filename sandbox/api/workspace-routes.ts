/**
 * The student's home from the browser: list, download and upload files, and run an exercise's
 * setup.sh. Every file operation runs inside the workstation as the student (uid 1000, in the
 * remapped namespace), never as root on the host, so a link the student planted cannot turn an
 * upload into a write outside their home.
 */
import { PassThrough } from "node:stream";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type Docker from "dockerode";
import { HttpError, readJsonBody, sendJson, type Router } from "../http/router.ts";
import type { SessionManager } from "../sessions/session-manager.ts";
import { STUDENT_HOME } from "../naming/scope.ts";
import { runInWorkstation } from "../sessions/workstation-exec.ts";
import { exerciseTasks } from "../checks/shell-checks.ts";
import { ownedSession } from "./session-routes.ts";
import type { WorkBudget } from "../sessions/work-budget.ts";

export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;
const MAX_LISTED = 2000;
const SETUP_TIMEOUT_MS = 180_000;
/** How long an upload's writer may take to finish once the body is in (a loaded engine starts execs late). */
const UPLOAD_FINISH_MS = 60_000;

/** A path inside the home, as the browser names it: relative, no `..`, no control characters. */
const hasControlCharacter = (p: string) => [...p].some((c) => c.charCodeAt(0) < 0x20);
const RelativePath = z
  .string()
  .min(1)
  .max(500)
  .refine(
    (p) =>
      !p.startsWith("/") &&
      !p.split("/").some((s) => s === ".." || s === "") &&
      !hasControlCharacter(p),
    "a path inside your home, like backup/app-data.tgz",
  );

function pathParam(url: URL): string {
  const parsed = RelativePath.safeParse(url.searchParams.get("path") ?? "");
  if (!parsed.success) throw new HttpError(400, `path: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

const SetupRequest = z.object({
  lesson: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/)
    .describe("the lesson folder"),
  exercise: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/)
    .describe("the exercise id"),
});

/** Starts `cmd` in the workstation as the student with stdin/stdout attached (no TTY). */
async function studentExec(docker: Docker, workstationId: string, cmd: string[], stdin: boolean) {
  const exec = await docker.getContainer(workstationId).exec({
    Cmd: cmd,
    AttachStdin: stdin,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    User: "1000:1000",
    WorkingDir: STUDENT_HOME,
  });
  const stream = await exec.start({ hijack: true, stdin });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  docker.modem.demuxStream(stream, stdout, stderr);
  const ended = new Promise<void>((resolve) => {
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      stdout.end();
      stderr.end();
      resolve();
    };
    stream.once("end", end);
    stream.once("close", end);
    stream.once("error", end);
  });
  /**
   * The exit code once the process has ended, or undefined when it has not ended within
   * `finishMs`. Waits for the output stream to end first: on a loaded engine the process can
   * start (and so end) seconds after the request's body is in, and asking for the exit code
   * before then read a running exec as a failed write (a class of 100 got 409s).
   */
  const exitCode = async (finishMs: number): Promise<number | undefined> => {
    const deadline = Date.now() + finishMs;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise((r) => (timer = setTimeout(r, finishMs)))]).finally(() =>
      clearTimeout(timer),
    );
    // The stream can end a moment before the engine records the exit code.
    do {
      const info = await exec.inspect();
      if (!info.Running) return info.ExitCode ?? -1; // ended, but the engine kept no code
      await new Promise((r) => setTimeout(r, 20));
    } while (Date.now() < deadline);
    return undefined;
  };
  return { stream, stdout, stderr, exitCode };
}

export function registerWorkspaceRoutes(
  router: Router,
  sessions: SessionManager,
  lessonsDir: string,
): void {
  router.add("GET", "/api/sessions/:id/files", async ({ res, params, learnerId }) => {
    const session = ownedSession(sessions, params.id!, learnerId);
    session.touch();
    const run = await withinBudget(session.fileOps, "file listings and transfers", () =>
      runInWorkstation(
        session.engine.docker,
        session.workstationId!,
        `find . -mindepth 1 -maxdepth 8 -name '.*' -prune -o \\( -type f -o -type d \\) -printf '%y\\t%s\\t%T@\\t%P\\n' | head -n ${MAX_LISTED}`,
      ),
    );
    const files = run.stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [kind, size, mtime, ...rest] = line.split("\t");
        return {
          path: rest.join("\t"),
          size: Number(size),
          modified: new Date(Number(mtime) * 1000).toISOString(),
          type: kind === "d" ? "dir" : "file",
        };
      })
      .sort((a, b) => a.path.localeCompare(b.path));
    sendJson(res, 200, { files });
  });

  router.add("GET", "/api/sessions/:id/files/download", async ({ res, params, learnerId, url }) => {
    const session = ownedSession(sessions, params.id!, learnerId);
    const path = pathParam(url);
    session.touch();
    // Held until the download ends: a transfer is an exec stream in the workstation.
    await withinBudget(session.fileOps, "file listings and transfers", () =>
      download(session.engine.docker, session.workstationId!, path, res),
    );
  });

  const download = async (
    docker: Docker,
    workstationId: string,
    path: string,
    res: ServerResponse,
  ): Promise<void> => {
    // -L: the size of what cat will read (a link's target), not of the link itself.
    const stat = await runInWorkstation(
      docker,
      workstationId,
      'test -f "$1" && test -r "$1" && stat -L -c %s -- "$1"',
      { args: [path] },
    );
    const size = Number(stat.stdout.trim());
    if (stat.exitCode !== 0 || !Number.isSafeInteger(size) || size < 0)
      throw new HttpError(404, `there is no readable file ${path} in your home`);
    const { stream, stdout } = await studentExec(docker, workstationId, ["cat", "--", path], false);
    const name = path
      .split("/")
      .pop()!
      .replace(/[^\w.-]/g, "_");
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": String(size),
      "content-disposition": `attachment; filename="${name}"`,
      "cache-control": "no-store",
    });
    sendExactly(stream, stdout, res, size);
    await new Promise<void>((resolve) =>
      res.destroyed || res.writableFinished ? resolve() : res.once("close", resolve),
    );
  };

  router.add(
    "PUT",
    "/api/sessions/:id/files/upload",
    async ({ req, res, params, learnerId, url }) => {
      const session = ownedSession(sessions, params.id!, learnerId);
      const path = pathParam(url);
      const declared = Number(req.headers["content-length"] ?? NaN);
      if (!Number.isFinite(declared))
        throw new HttpError(411, "send the file with a Content-Length");
      if (declared > MAX_UPLOAD_BYTES)
        throw new HttpError(
          413,
          `files up to ${MAX_UPLOAD_BYTES / 1024 / 1024} MiB can be uploaded`,
        );
      session.touch();
      const { size, code, message } = await withinBudget(
        session.fileOps,
        "file listings and transfers",
        async () => {
          // Written as the student: the folder is made and the file replaced with their permissions.
          const { stream, exitCode, stderr } = await studentExec(
            session.engine.docker,
            session.workstationId!,
            ["sh", "-c", 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1"', "upload", path],
            true,
          );
          let message = "";
          stderr.on("data", (c: Buffer) => (message += c.toString()));
          const size = await pipeLimited(req, stream, MAX_UPLOAD_BYTES);
          return { size, code: await exitCode(UPLOAD_FINISH_MS), message };
        },
      );
      if (code === undefined)
        throw new HttpError(
          504,
          `the file was sent, but writing ${path} did not finish within ${UPLOAD_FINISH_MS / 1000} s (is it a pipe nothing reads?)`,
        );
      if (code !== 0)
        throw new HttpError(
          409,
          `the file could not be written: ${message.trim() || (code === -1 ? "the engine did not say how the writer ended" : `exit ${code}`)}`,
        );
      sendJson(res, 201, { path, size });
    },
  );

  router.add("POST", "/api/sessions/:id/setup", async ({ req, res, params, learnerId }) => {
    const session = ownedSession(sessions, params.id!, learnerId);
    const { lesson, exercise } = await readJsonBody(req, SetupRequest);
    if (!(await exerciseTasks(lessonsDir, lesson, exercise)))
      throw new HttpError(404, `no exercise ${exercise} in lesson ${lesson}`);
    session.touch();
    const setup = join(lessonsDir, lesson, "exercises", exercise, "setup.sh");
    if (!existsSync(setup)) return sendJson(res, 200, { ok: true, output: "" });
    const script = await readFile(setup, "utf8");
    const run = await withinBudget(session.setups, "exercise setups", () =>
      runInWorkstation(session.engine.docker, session.workstationId!, script, {
        timeoutMs: SETUP_TIMEOUT_MS,
      }),
    );
    sendJson(res, 200, {
      ok: run.exitCode === 0,
      output: run.timedOut ? "the setup took too long and was stopped" : run.output,
    });
  });
}

/** Runs `work` within one of the session's budgets (sessions/work-budget.ts), or answers 429. */
async function withinBudget<T>(
  budget: WorkBudget,
  what: string,
  work: () => Promise<T>,
): Promise<T> {
  const done = await budget.run(work);
  if (!done)
    throw new HttpError(
      429,
      `too many ${what} at once for this sandbox (${budget.concurrent} running, ${budget.queued} waiting): try again in a moment`,
      { retryAfterSeconds: 2 },
    );
  return done.value;
}

/**
 * Sends exactly `size` bytes of `from`: the file can change between stat and cat (the student's
 * shell may be writing it), and a body longer than its Content-Length would be read by the
 * client as the next response on the connection. More is cut off; less ends the connection, so
 * the client sees a short download, never a forged answer.
 */
function sendExactly(
  source: NodeJS.ReadableStream & { destroy(): void },
  from: NodeJS.ReadableStream,
  res: ServerResponse,
  size: number,
): void {
  let left = size;
  from.on("data", (chunk: Buffer) => {
    if (left <= 0) return;
    const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= part.length;
    // Backpressure on the exec's stream itself: the demuxer writes into `from` whatever comes.
    if (!res.write(part)) {
      source.pause();
      res.once("drain", () => source.resume());
    }
    if (left === 0) {
      res.end();
      source.destroy();
    }
  });
  from.on("end", () => {
    if (left > 0) res.destroy();
  });
  res.on("close", () => source.destroy());
}

/** Copies the request body into the exec's stdin, refusing more than `limit` bytes. */
function pipeLimited(
  req: IncomingMessage,
  stdin: NodeJS.WritableStream & { end(): void },
  limit: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.destroy();
        reject(new HttpError(413, `files up to ${limit / 1024 / 1024} MiB can be uploaded`));
        return;
      }
      if (!stdin.write(chunk)) {
        req.pause();
        stdin.once("drain", () => req.resume());
      }
    });
    req.on("end", () => {
      stdin.end(); // half-close: cat sees end of file
      resolve(size);
    });
    req.on("error", reject);
  });
}
