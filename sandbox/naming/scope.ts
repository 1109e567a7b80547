import { join } from "node:path";

/** Labels every object the sandbox makes carries. */
export const LABEL_INSTANCE = "stowage.instance"; // which server made it (cleanup on start)
export const LABEL_SESSION = "stowage.session"; // which session it belongs to (cleanup on end)
export const LABEL_OWNER = "stowage.owner"; // set only on the student's own objects (lists, ownership)
export const LABEL_ANONYMOUS = "stowage.anonymous"; // a volume standing in for an anonymous one
export const LABEL_ANON_VOLUMES = "stowage.anonymous-volumes"; // on a container: its anonymous volumes
export const LABEL_AUTOREMOVE = "stowage.autoremove"; // on a container started with --rm
export const LABEL_ROLE = "stowage.role"; // "workstation" for the student's shell container
export const LABEL_PORTS = "stowage.ports"; // on a container: its -p mappings, served in the workstation (published-ports.ts)
export const LABEL_HOME_BINDS = "stowage.home-binds"; // on a container of a remote engine: its binds of home folders as the student wrote them (proxy/home-volume.ts)

/** Every engine name of a session starts with this, then the session id (SessionScope.prefix). */
export const NAME_PREFIX = "stw-";
/** The session id in the engine name of a session's object (`stw-<id>-…`), or undefined. */
export function sessionIdOfName(engineName: string): string | undefined {
  return new RegExp(`^/?${NAME_PREFIX}([a-f0-9]{12})-`).exec(engineName)?.[1];
}

/** A name as the student would write it: any session's prefix taken off the front. */
export function withoutSessionPrefix(name: string): string {
  return name.replace(new RegExp(`^${NAME_PREFIX}[a-f0-9]+-`), "");
}

/** Names of the throwaway containers checks start in a session (left out of what checks see). */
export const CHECK_CONTAINER_PREFIX = "stowage-check-";

/** Every sandbox network's bridge interface is named this, then the network id (host-firewall.ts drops `stw+`). */
export const BRIDGE_PREFIX = "stw";

/** A bridge interface name for a sandbox network (at most 15 characters). */
export function bridgeName(networkId: string): string {
  return `${BRIDGE_PREFIX}${networkId.slice(0, 12)}`;
}

/** Where the student's home is, as the student sees it inside the workstation. */
export const STUDENT_HOME = "/home/student";
/** Where the session's proxy socket folder is mounted inside the workstation. */
export const PROXY_SOCKET_DIR_IN_WORKSTATION = "/run/stowage";

/**
 * How one session's objects are named on the shared engine: the student says `app-data`,
 * the engine holds `stw-<session>-app-data`. The prefix cannot be typed by a student as part of
 * a name because every name they send gets the prefix added in front of it.
 */
export class SessionScope {
  readonly sessionId: string;
  readonly instance: string;
  readonly prefix: string;
  readonly workspaceDir: string;
  /** The same home, mounted with nosymfollow: the source of every student bind mount (bind-view.ts). */
  readonly bindDir: string;
  readonly runDir: string;
  /** The cgroup above the student's containers (session-cgroup.ts), when the engine allows one. */
  cgroupParent: string | undefined;

  constructor(sessionId: string, instance: string, sessionDir: string) {
    this.sessionId = sessionId;
    this.instance = instance;
    this.prefix = `${NAME_PREFIX}${sessionId}-`;
    this.workspaceDir = join(sessionDir, "home");
    this.bindDir = join(sessionDir, "binds");
    this.runDir = join(sessionDir, "run");
  }

  /** The engine's name for a name the student chose. */
  engineName(studentName: string): string {
    return this.prefix + studentName.replace(/^\//, "");
  }

  /** The student's name for an engine name, or undefined when it is not this session's. */
  studentName(engineName: string): string | undefined {
    const bare = engineName.replace(/^\//, "");
    return bare.startsWith(this.prefix) ? bare.slice(this.prefix.length) : undefined;
  }

  get networkName(): string {
    return this.engineName("bridge");
  }

  get workstationName(): string {
    return `${NAME_PREFIX}${this.sessionId}--workstation`; // double dash: no student name maps to it
  }

  /**
   * The home as a volume, on a remote engine (the engine's host is not this one, so no folder
   * of this server can be bound): infra-labelled like the workstation, so the student's lists,
   * inspects and removals never see it.
   */
  get homeVolumeName(): string {
    return `${NAME_PREFIX}${this.sessionId}--home`; // double dash: no student name maps to it
  }

  get proxySocketPath(): string {
    return join(this.runDir, "docker.sock");
  }

  /** Labels for an object the student made. */
  ownedLabels(): Record<string, string> {
    return {
      [LABEL_INSTANCE]: this.instance,
      [LABEL_SESSION]: this.sessionId,
      [LABEL_OWNER]: this.sessionId,
    };
  }

  /** Labels for the session's own infrastructure (workstation), which the student's lists never show. */
  infraLabels(): Record<string, string> {
    return { [LABEL_INSTANCE]: this.instance, [LABEL_SESSION]: this.sessionId };
  }

  /** The engine filter that selects exactly the student's objects. */
  ownerFilter(): string {
    return `${LABEL_OWNER}=${this.sessionId}`;
  }
}
