/**
 * Paths inside a running container, resolved as its kernel would: through the container's root
 * (`/proc/<pid>/root`), one component at a time, an absolute link target starting again at the
 * container's root. The policy refuses /proc and /sys as a working directory (they are the
 * kernel's view of the host as much as of the container); `docker exec -w /link` with a link
 * into /proc went past a check that only read the path as written (issue 16).
 */
import { lstat, readlink } from "node:fs/promises";
import type { Engine } from "../docker/engine.ts";
import { engineJson } from "./engine-http.ts";

const KERNEL_VIEWS = /^\/(proc|sys)(\/|$)/;

/** The path `path` names inside the container whose init is `pid`, links followed; undefined past 40 links. */
export async function resolveInContainer(pid: number, path: string): Promise<string | undefined> {
  const root = `/proc/${pid}/root`;
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
    const here = "/" + resolved.join("/");
    // Once in /proc or /sys, nothing further changes the answer (and /proc/self is the server's).
    if (KERNEL_VIEWS.test(here)) return "/" + [...resolved, ...pending].join("/");
    const stat = await lstat(root + here).catch(() => undefined);
    if (!stat) return "/" + [...resolved, ...pending].join("/"); // missing: the exec fails on its own
    if (stat.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const target = await readlink(root + here);
      resolved.pop();
      if (target.startsWith("/")) resolved.length = 0;
      pending = [...target.split("/").filter(Boolean), ...pending];
    }
  }
  return "/" + resolved.join("/");
}

/**
 * An exec's working directory as the container's kernel would reach it: `refused` when it leads
 * into /proc or /sys (a link loop counts as yes); else `path`, with the links found resolved, so
 * the engine is given the path that was checked (a link swapped in later, between the check and
 * the exec's start, is not followed where none was).
 */
export async function execWorkingDir(
  engine: Engine,
  id: string,
  path: string,
): Promise<{ refused: boolean; path: string }> {
  if (!path.startsWith("/")) return { refused: false, path }; // relative: the engine refuses it
  if (KERNEL_VIEWS.test(path.replace(/\/+/g, "/"))) return { refused: true, path };
  const { body } = await engineJson<{ State?: { Pid?: number; Running?: boolean } }>(engine, {
    method: "GET",
    path: `/containers/${id}/json`,
  });
  const pid = body?.State?.Running ? body.State.Pid : undefined;
  if (!pid) return { refused: false, path }; // not running: the engine refuses the exec
  const resolved = await resolveInContainer(pid, path);
  if (resolved === undefined || KERNEL_VIEWS.test(resolved)) return { refused: true, path };
  return { refused: false, path: resolved };
}
