/**
 * Walks a path one component at a time as a kernel would, following symbolic links found on
 * disk (an absolute target starts again at the root of the path's own world: a container's root,
 * the workstation's), with no lexical folding ("link/.." is the link's parent on disk). The
 * callers say where each path is on this server's disk and when the walk may stop: the two
 * policy checks that follow links (bind sources in the home, exec working directories).
 */
import { lstat, readlink } from "node:fs/promises";

export interface LinkWalk<R> {
  /** Before `current` is looked at: stop with an answer, pass on without a look, or look. */
  at(current: string, pending: readonly string[]): { stop: R } | "pass" | "look";
  /** Where `current`, a path in the walked world, is on this server's disk. */
  onDisk(current: string): string;
  /** `current` does not exist; `pending` is what was still to walk. */
  missing(current: string, pending: readonly string[]): R;
  /** The walk ended at `final`, every link on the way resolved. */
  done(final: string): R;
  /** The answer past 40 links (a loop, or a path built to be slow). */
  tooManyLinks: R;
}

export async function walkLinks<R>(path: string, walk: LinkWalk<R>): Promise<R> {
  let pending = path.split("/").filter(Boolean);
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === ".") continue;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    resolved.push(part);
    const current = "/" + resolved.join("/");
    const next = walk.at(current, pending);
    if (next === "pass") continue;
    if (next !== "look") return next.stop;
    const onDisk = walk.onDisk(current);
    const stat = await lstat(onDisk).catch(() => undefined);
    if (!stat) return walk.missing(current, pending);
    if (stat.isSymbolicLink()) {
      if (++hops > 40) return walk.tooManyLinks;
      // Gone (or no longer a link) since the lstat: a student swapping links in a loop. Read as
      // missing, as the lstat would have said a moment later; never a server error.
      const target = await readlink(onDisk).catch(() => undefined);
      if (target === undefined) return walk.missing(current, pending);
      resolved.pop();
      if (target.startsWith("/")) resolved.length = 0;
      pending = [...target.split("/").filter(Boolean), ...pending];
    }
  }
  return walk.done("/" + resolved.join("/"));
}
