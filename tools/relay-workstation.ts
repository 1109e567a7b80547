/**
 * A workstation as a remote engine would run it: the workstation image, user 1000, read-only
 * root, tmpfs /tmp, a tmpfs at /run/stowage owned by the student, no capabilities, no network,
 * and NO bind of the server's proxy socket: its docker CLI reaches the session's proxy only
 * through the socket relay (sandbox/sessions/socket-relay.ts). Labelled with the server's
 * instance and the session, so the session's cleanup (or the next start's) finds it.
 * Shared by tests/sandbox/socket-relay.test.ts and tools/measure-socket-relay.ts.
 */
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import type { RunningServer } from "../sandbox/server.ts";
import type { Logger } from "../sandbox/log.ts";
import {
  LABEL_INSTANCE,
  LABEL_SESSION,
  PROXY_SOCKET_DIR_IN_WORKSTATION,
} from "../sandbox/naming/scope.ts";
import type { SocketRelayOptions } from "../sandbox/sessions/socket-relay.ts";

export const RELAY_SOCKET = `${PROXY_SOCKET_DIR_IN_WORKSTATION}/docker.sock`;

/** Makes and starts the workstation; returns its id. */
export async function createRelayWorkstation(
  server: RunningServer,
  sessionId: string,
): Promise<string> {
  const container = await server.engine.docker.createContainer({
    name: `stowage-relay-test-${randomBytes(4).toString("hex")}`,
    Image: "stowage/workstation:latest",
    User: "1000:1000",
    Env: ["HOME=/home/student", "LANG=C.UTF-8"],
    Cmd: ["sleep", "infinity"],
    Labels: { [LABEL_INSTANCE]: server.config.instance, [LABEL_SESSION]: sessionId },
    HostConfig: {
      NetworkMode: "none",
      ReadonlyRootfs: true,
      Tmpfs: {
        "/tmp": "rw,nosuid,nodev,size=96m",
        [PROXY_SOCKET_DIR_IN_WORKSTATION]: "rw,nosuid,nodev,size=1m,uid=1000,gid=1000,mode=0755",
      },
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Init: true,
      Memory: 512 * 1024 * 1024,
    },
  });
  await container.start();
  return container.id;
}

/** The relay's options for that workstation, its channels going to the session's real proxy. */
export function relayOptions(
  server: RunningServer,
  sessionId: string,
  workstationId: string,
  log: Logger,
): SocketRelayOptions {
  const path = server.sessions.get(sessionId)!.scope.proxySocketPath;
  return {
    docker: server.engine.docker,
    workstationId,
    socketPathInWorkstation: RELAY_SOCKET,
    connect: () => connect({ path, allowHalfOpen: true }),
    log,
  };
}
