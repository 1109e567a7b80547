/**
 * Where checks run: a container of the session's own, made by the server, never the student's
 * workstation. Checks decide progress, so nothing they run may be configurable by the student:
 * - In the workstation, the student's `~/.docker/config.json` chose the CLI's context (a fake
 *   daemon in the home made every task pass), and any process of theirs, as the same user in
 *   the same container, could trace, kill or feed a running check.
 * - Here the student has no process (they cannot exec into it: it has no owner label, so the
 *   proxy refuses it), the CLI's configuration is a folder that does not exist
 *   (DOCKER_CONFIG), its engine is the session's proxy socket (DOCKER_HOST), named explicitly,
 *   and the image's binaries are the image's (read-only root, a container of its own).
 * - The student's home is mounted read-only at /home/student, as HOME, so checks read `~/site`
 *   as before; the tools that read a dotfile from HOME (jq's ~/.jq, curl's ~/.curlrc) are told
 *   not to, because a definition there could change what a check's filter means.
 */
import type Docker from "dockerode";
import type { Engine } from "../docker/engine.ts";
import { remoteWorkstationMounts } from "./remote-home.ts";
import { WORKSTATION_IMAGE } from "../images/catalog.ts";
import { LIMITS } from "../proxy/limits.ts";
import {
  LABEL_ROLE,
  PROXY_SOCKET_DIR_IN_WORKSTATION,
  STUDENT_HOME,
  type SessionScope,
} from "../naming/scope.ts";
import { runInWorkstation, type ExecResult } from "./workstation-exec.ts";

export const CHECK_CONTAINER_ROLE = "checks";
/** Every check script's environment, on top of HOME, PATH and LANG. */
export const CHECK_ENV = [
  `DOCKER_HOST=unix://${PROXY_SOCKET_DIR_IN_WORKSTATION}/docker.sock`,
  // A folder that does not exist: no contexts, no config, no CLI plugins but the image's.
  "DOCKER_CONFIG=/nonexistent/stowage-check-docker-config",
];
/** Put in front of every check script (bash): the tools that read dotfiles from HOME do not. */
export const CHECK_PRELUDE = `jq() { HOME=/nonexistent command jq "$@"; }
curl() { command curl -q "$@"; }
`;
const CHECK_CONTAINER_LIMITS = {
  memoryBytes: 256 * 1024 * 1024,
  pids: 256,
  nanoCpus: 1_000_000_000,
};

export function checkContainerName(scope: SessionScope): string {
  return `stw-${scope.sessionId}--checks`; // double dash: no student name maps to it
}

/** Makes and starts the session's check container (replacing one of the same name, e.g. a dead one). */
export async function createCheckContainer(engine: Engine, scope: SessionScope): Promise<string> {
  const docker = engine.docker;
  await docker
    .getContainer(checkContainerName(scope))
    .remove({ force: true })
    .catch(() => undefined);
  const container = await docker.createContainer({
    name: checkContainerName(scope),
    Image: WORKSTATION_IMAGE,
    Hostname: "stowage-checks",
    User: "1000:1000",
    WorkingDir: STUDENT_HOME,
    Env: [`HOME=${STUDENT_HOME}`, "LANG=C.UTF-8", ...CHECK_ENV],
    Cmd: ["sleep", "infinity"],
    Labels: { ...scope.infraLabels(), [LABEL_ROLE]: CHECK_CONTAINER_ROLE },
    NetworkDisabled: true,
    HostConfig: {
      // Read-only: a check reads the student's files, it never writes them; the proxy's socket
      // folder read-only too (nothing in it can be replaced from here).
      // On a remote engine the home volume, read-only, and an empty /run/stowage where the
      // session manager's socket relay (socket-relay.ts) makes the proxy's socket.
      ...(engine.remote
        ? { Mounts: remoteWorkstationMounts(scope, true).Mounts }
        : {
            Binds: [
              `${scope.workspaceDir}:${STUDENT_HOME}:ro`,
              `${scope.runDir}:${PROXY_SOCKET_DIR_IN_WORKSTATION}:ro`,
            ],
          }),
      NetworkMode: "none",
      Memory: CHECK_CONTAINER_LIMITS.memoryBytes,
      MemorySwap: CHECK_CONTAINER_LIMITS.memoryBytes,
      NanoCpus: CHECK_CONTAINER_LIMITS.nanoCpus,
      PidsLimit: CHECK_CONTAINER_LIMITS.pids,
      OomScoreAdj: LIMITS.oomScoreAdjFloor,
      ReadonlyRootfs: true,
      Tmpfs: {
        "/tmp": "rw,nosuid,nodev,noexec,size=16m",
        ...(engine.remote ? remoteWorkstationMounts(scope).Tmpfs : {}),
      },
      SecurityOpt: ["no-new-privileges"],
      CapDrop: ["ALL"],
      Init: true,
      LogConfig: { Type: "json-file", Config: { "max-size": "64k", "max-file": "1" } },
    },
  });
  await engine.starts.run(scope.sessionId, () => container.start());
  return container.id;
}

/** What checks run against: the session's check container (made with the session, kept for its life) and its event history. */
export interface CheckRunner {
  /** The check container's id, making and starting it when there is none yet. */
  checkContainer(): Promise<string>;
  /** Called when the container `failedId` is gone (the engine restarted): the next call makes a new one. */
  forgetCheckContainer(failedId?: string): void;
}

/** Runs a check's bash script in the session's check container; makes a new container once if the old one is gone. */
export async function runCheckScript(
  docker: Docker,
  runner: CheckRunner,
  script: string,
  options: { timeoutMs: number; args?: string[] },
): Promise<ExecResult> {
  let used: string | undefined;
  const run = async () =>
    runInWorkstation(docker, (used = await runner.checkContainer()), CHECK_PRELUDE + script, {
      timeoutMs: options.timeoutMs,
      env: CHECK_ENV,
      args: options.args,
    });
  try {
    return await run();
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw error;
    runner.forgetCheckContainer(used);
    return run();
  }
}
