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
    await run("mount", ["-o", "remount,bind,nosymfollow", bindDir]);
  } catch (error) {
    await run("umount", [bindDir]).catch(() => undefined);
    throw new Error(`cannot make the bind-mount view of a session's home (mount -o nosymfollow needs root and Linux 5.10 or later): ${(error as Error).message.trim()}`);
  }
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
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
