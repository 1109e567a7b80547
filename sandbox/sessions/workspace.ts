import { chmod, chown, mkdir, rm } from "node:fs/promises";
import { mountBindView, mountHome, unmountBelow } from "./bind-view.ts";
import type { SessionScope } from "../naming/scope.ts";

/** The student's uid and gid inside the workstation image. */
export const STUDENT_UID = 1000;

/**
 * Makes the session's folders: `<session>/` (root only, 0700: even a container that escaped its
 * bind mount cannot walk into another session's folder), `home/` (the student's home, owned by
 * the student's remapped uid), `binds/` (home/ again, through which links are not followed: the
 * source of the student's bind mounts) and `run/` (the proxy socket, mounted into the workstation).
 * The home is a mount of its own, nodev and nosuid (bind-view.ts: HOME_MOUNT_OPTIONS).
 */
export async function createWorkspace(
  sessionDir: string,
  scope: SessionScope,
  uidOffset: number,
): Promise<void> {
  // 0700 all the way down to the session: the daemon mounts home/ and run/ as real root, so the
  // containers never need to walk these folders, and a container that somehow mounted the host's
  // root still cannot list or enter any session's folder.
  await mkdir(sessionDir, { recursive: true, mode: 0o700 });
  await chmod(sessionDir, 0o700);
  await mkdir(scope.workspaceDir, { mode: 0o755 });
  await chown(scope.workspaceDir, uidOffset + STUDENT_UID, uidOffset + STUDENT_UID);
  await mkdir(scope.runDir, { mode: 0o755 });
  await mkdir(scope.bindDir, { mode: 0o700 });
  await mountHome(scope.workspaceDir);
  await mountBindView(scope.workspaceDir, scope.bindDir);
}

/**
 * A session on a remote engine: its folder here holds only session.json, the saved screen and
 * `run/` with the proxy's socket (reached through the relay, socket-relay.ts); the home is a
 * volume on the engine (remote-home.ts).
 */
export async function createSessionFolder(sessionDir: string, scope: SessionScope): Promise<void> {
  await mkdir(sessionDir, { recursive: true, mode: 0o700 });
  await chmod(sessionDir, 0o700);
  await mkdir(scope.runDir, { mode: 0o700 });
}

export async function removeWorkspace(sessionDir: string): Promise<void> {
  // First the view (also one a crashed server left): rm would otherwise walk the home twice and
  // stop at a busy mount point.
  await unmountBelow(sessionDir);
  await rm(sessionDir, { recursive: true, force: true, maxRetries: 3 });
}
