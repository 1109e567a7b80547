import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { STUDENT_HOME } from "../naming/scope.ts";

export interface ExecResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr as they came, interleaved. */
  output: string;
  timedOut: boolean;
}

/**
 * Runs a bash script in the workstation as the student, in their home, with their scoped docker
 * CLI: what checks, solutions and tests use. Bounded in time and in output kept.
 */
export async function runInWorkstation(
  docker: Docker,
  containerId: string,
  script: string,
  options: { timeoutMs?: number; env?: string[]; args?: string[] } = {},
): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const exec = await docker.getContainer(containerId).exec({
    Cmd: ["bash", "--noprofile", "--norc", "-c", script, "stowage", ...(options.args ?? [])], // args are $1, $2, ...
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    User: "1000:1000",
    WorkingDir: STUDENT_HOME,
    Env: [
      `HOME=${STUDENT_HOME}`,
      "PATH=/usr/local/bin:/usr/bin:/bin",
      "LANG=C.UTF-8",
      ...(options.env ?? []),
    ],
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const limit = 256 * 1024;
  let out = "",
    err = "",
    all = "";
  stdout.on("data", (c: Buffer) => {
    if (all.length < limit) {
      out += c;
      all += c;
    }
  });
  stderr.on("data", (c: Buffer) => {
    if (all.length < limit) {
      err += c;
      all += c;
    }
  });
  docker.modem.demuxStream(stream, stdout, stderr);
  let timedOut = false;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      timedOut = true;
      stream.destroy();
      resolve();
    }, timeoutMs);
    stream.on("end", () => {
      clearTimeout(timer);
      resolve();
    });
    stream.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
    stream.on("error", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  // The stream can end a moment before the engine records the exit code.
  let exitCode: number | null = null;
  for (let i = 0; !timedOut && i < 50; i++) {
    const info = await exec.inspect().catch(() => undefined);
    if (!info) break;
    if (!info.Running) {
      exitCode = info.ExitCode ?? null;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { exitCode, stdout: out, stderr: err, output: all, timedOut };
}
