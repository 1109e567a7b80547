import { PassThrough } from "node:stream";
import type Docker from "dockerode";

export interface ExecResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr as they came, interleaved. */
  output: string;
  timedOut: boolean;
}

/**
 * Runs one command in a running container and waits for it: its output (the first `limit`
 * characters), its exit code, whether it ran out of time. The one exec runner of the server's
 * own commands (the workstation's scripts, a home path's resolution, the host helper's).
 */
export async function runExec(
  docker: Docker,
  containerId: string,
  exec: Pick<Docker.ExecCreateOptions, "Cmd" | "User" | "WorkingDir" | "Env">,
  options: { timeoutMs: number; limit?: number },
): Promise<ExecResult> {
  const limit = options.limit ?? 256 * 1024;
  const created = await docker.getContainer(containerId).exec({
    ...exec,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  const stream = await created.start({ hijack: true, stdin: false });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
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
    }, options.timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    stream.on("end", done);
    stream.on("close", done);
    stream.on("error", done);
  });
  // The stream can end a moment before the engine records the exit code.
  let exitCode: number | null = null;
  for (let i = 0; !timedOut && i < 50; i++) {
    const info = await created.inspect().catch(() => undefined);
    if (!info) break;
    if (!info.Running) {
      exitCode = info.ExitCode ?? null;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { exitCode, stdout: out, stderr: err, output: all, timedOut };
}
