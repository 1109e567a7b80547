import type Docker from "dockerode";
import { runExec, type ExecResult } from "../docker/exec-run.ts";
import { STUDENT_HOME } from "../naming/scope.ts";

export type { ExecResult };

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
  return runExec(
    docker,
    containerId,
    {
      Cmd: ["bash", "--noprofile", "--norc", "-c", script, "stowage", ...(options.args ?? [])], // args are $1, $2, ...
      User: "1000:1000",
      WorkingDir: STUDENT_HOME,
      Env: [
        `HOME=${STUDENT_HOME}`,
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "LANG=C.UTF-8",
        ...(options.env ?? []),
      ],
    },
    { timeoutMs: options.timeoutMs ?? 10_000 },
  );
}
