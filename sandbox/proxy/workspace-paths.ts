import { posix } from "node:path";
import { STUDENT_HOME } from "../naming/scope.ts";
import { walkLinks } from "./link-walk.ts";

/**
 * Turns a path as the student sees it in the workstation (`/home/student/site`, after `$(pwd)`
 * expansion) into the host path of the same folder in the session's workspace, following
 * symlinks the way the workstation would see them (an absolute link target is a workstation
 * path, not a host path). Returns undefined when the path, or any link on the way, leads outside
 * the student's home. The host path returned has no symlinks left in it.
 */
export function workspaceHostPath(
  studentPath: string,
  workspaceDir: string,
): Promise<string | undefined> {
  return walkLinks<string | undefined>(studentPath, {
    // Only /home/student and below may be named; the folders above it are walked through.
    at: (current) => {
      if (isInsideHome(current)) return "look";
      return STUDENT_HOME.startsWith(current + "/") ? "pass" : { stop: undefined };
    },
    onDisk: (current) => toHost(current, workspaceDir),
    missing: (current, pending) => {
      // Missing from here on: nothing left to follow; the engine creates it under the workspace.
      // A ".." after a missing folder would climb back into folders (and links) that exist, which
      // the engine's mkdir -p follows on the host: "missing/../link-to-root/etc/x" made /etc/x.
      if (pending.some((p) => p === "..")) return undefined;
      const rest = posix.join(current, ...pending.filter((p) => p !== "."));
      return isInsideHome(rest) ? toHost(rest, workspaceDir) : undefined;
    },
    done: (final) => (isInsideHome(final) ? toHost(final, workspaceDir) : undefined),
    tooManyLinks: undefined,
  });
}

function isInsideHome(path: string): boolean {
  return path === STUDENT_HOME || path.startsWith(STUDENT_HOME + "/");
}

function toHost(studentPath: string, workspaceDir: string): string {
  return posix.join(workspaceDir, posix.relative(STUDENT_HOME, studentPath));
}
