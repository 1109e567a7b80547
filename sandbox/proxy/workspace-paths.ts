import { lstat, readlink } from "node:fs/promises";
import { posix } from "node:path";
import { STUDENT_HOME } from "../naming/scope.ts";

/**
 * Turns a path as the student sees it in the workstation (`/home/student/site`, after `$(pwd)`
 * expansion) into the host path of the same folder in the session's workspace, following
 * symlinks the way the workstation would see them (an absolute link target is a workstation
 * path, not a host path). Returns undefined when the path, or any link on the way, leads outside
 * the student's home. The host path returned has no symlinks left in it.
 */
export async function workspaceHostPath(
  studentPath: string,
  workspaceDir: string,
): Promise<string | undefined> {
  // No lexical folding anywhere: "link/.." is the link's parent on disk, as the kernel reads it.
  let pending = studentPath.split("/").filter(Boolean);
  const resolved: string[] = [];
  let hops = 0;
  // Start from the root: only /home/student and below may be named.
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === ".") continue;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    resolved.push(part);
    const current = "/" + resolved.join("/");
    if (!isInsideHome(current)) {
      if (STUDENT_HOME.startsWith(current + "/")) continue; // still walking down to the home
      return undefined;
    }
    const host = toHost(current, workspaceDir);
    const stat = await lstat(host).catch(() => undefined);
    if (!stat) {
      // Missing from here on: nothing left to follow; the engine creates it under the workspace.
      // A ".." after a missing folder would climb back into folders (and links) that exist, which
      // the engine's mkdir -p follows on the host: "missing/../link-to-root/etc/x" made /etc/x.
      if (pending.some((p) => p === "..")) return undefined;
      const rest = posix.join(current, ...pending.filter((p) => p !== "."));
      return isInsideHome(rest) ? toHost(rest, workspaceDir) : undefined;
    }
    if (stat.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const target = await readlink(host);
      resolved.pop();
      const base = target.startsWith("/") ? [] : [...resolved];
      pending = [...target.split("/").filter(Boolean), ...pending];
      resolved.length = 0;
      resolved.push(...base);
    }
  }
  const final = "/" + resolved.join("/");
  return isInsideHome(final) ? toHost(final, workspaceDir) : undefined;
}

function isInsideHome(path: string): boolean {
  return path === STUDENT_HOME || path.startsWith(STUDENT_HOME + "/");
}

function toHost(studentPath: string, workspaceDir: string): string {
  return posix.join(workspaceDir, posix.relative(STUDENT_HOME, studentPath));
}
