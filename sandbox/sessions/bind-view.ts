import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * The student's home as the engine sees it for bind mounts: the same folder, bind-mounted a
 * second time with `nosymfollow` (Linux 5.10+), so no path lookup through it follows a link.
 *
 * Why: the proxy checks a bind source (no link leads out of the home) and the engine resolves
 * the path again later, when it creates the folder and when runc mounts it at each start. A
 * student who swaps a folder for a link to `/` in between would get the host's root. Through
 * this view, the engine's lookup of a swapped link fails with ELOOP instead, so what was checked
 * is what gets mounted. The student's own shell keeps the ordinary view, where links work.
 */
export async function mountBindView(workspaceDir: string, bindDir: string): Promise<void> {
  await run("mount", ["--bind", workspaceDir, bindDir]);
  try {
    await run("mount", ["-o", `remount,bind,nosymfollow,${HOME_MOUNT_OPTIONS}`, bindDir]);
  } catch (error) {
    await run("umount", [bindDir]).catch(() => undefined);
    throw new Error(
      `cannot make the bind-mount view of a session's home (mount -o nosymfollow needs root and Linux 5.10 or later): ${(error as Error).message.trim()}`,
    );
  }
}

/**
 * What the home is mounted with, on the host and everywhere it is bind-mounted from (the
 * workstation, the student's `-v ~/x:/y`, the bind view; a bind mount keeps these flags): a
 * device node placed in it (`docker cp` of an archive holding one, extracted by the engine as
 * root) opens as no device, and a setuid or setgid file runs as its caller. Such files may still
 * be made (the proxy's archive filter is what keeps them out); here they are inert.
 */
export const HOME_MOUNT_OPTIONS = "nodev,nosuid";

/** Mounts the home onto itself with HOME_MOUNT_OPTIONS, so every path through it has them. */
export async function mountHome(workspaceDir: string): Promise<void> {
  await run("mount", ["--bind", workspaceDir, workspaceDir]);
  try {
    await run("mount", ["-o", `remount,bind,${HOME_MOUNT_OPTIONS}`, workspaceDir]);
  } catch (error) {
    await run("umount", [workspaceDir]).catch(() => undefined);
    throw new Error(
      `cannot mount a session's home ${HOME_MOUNT_OPTIONS} (needs root): ${(error as Error).message.trim()}`,
    );
  }
}

/**
 * A restarted server adopting a session: the home's own mount and the bind view are still there
 * after the server died (mounts belong to the host), but not after the host restarted; each
 * missing one is made again, so the workstation's next start and the student's binds get them.
 */
export async function ensureHomeMounts(scope: {
  workspaceDir: string;
  bindDir: string;
}): Promise<void> {
  const mounted = await mountPoints();
  if (!mounted.has(scope.workspaceDir)) await mountHome(scope.workspaceDir);
  if (!mounted.has(scope.bindDir)) await mountBindView(scope.workspaceDir, scope.bindDir);
}

async function mountPoints(): Promise<Set<string>> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8").catch(() => "");
  return new Set(mountinfo.split("\n").map((line) => unescapeMountPath(line.split(" ")[4] ?? "")));
}

/** Unmounts every mount point at or below `dir`, deepest first (a session's view, also after a crash). */
export async function unmountBelow(dir: string): Promise<void> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8").catch(() => "");
  const points = mountinfo
    .split("\n")
    .map((line) => unescapeMountPath(line.split(" ")[4] ?? ""))
    .filter((point) => point === dir || point.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const point of points) await run("umount", ["--lazy", point]).catch(() => undefined);
}

/** mountinfo writes space, tab, newline and backslash as octal escapes. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(parseInt(octal, 8)),
  );
}
