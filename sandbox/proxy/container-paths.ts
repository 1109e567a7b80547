/**
 * Paths inside a running container, resolved as its kernel would: through the container's root
 * (`/proc/<pid>/root`), one component at a time, an absolute link target starting again at the
 * container's root. The policy refuses /proc and /sys as a working directory (they are the
 * kernel's view of the host as much as of the container); `docker exec -w /link` with a link
 * into /proc went past a check that only read the path as written (issue 16).
 */
import type { Engine } from "../docker/engine.ts";
import { engineJson } from "./engine-http.ts";
import { walkLinks } from "./link-walk.ts";

const KERNEL_VIEWS = /^\/(proc|sys)(\/|$)/;

/** The path `path` names inside the container whose init is `pid`, links followed; undefined past 40 links. */
export function resolveInContainer(pid: number, path: string): Promise<string | undefined> {
  const root = `/proc/${pid}/root`;
  const unresolved = (current: string, pending: readonly string[]) =>
    "/" + [current.slice(1), ...pending].filter(Boolean).join("/");
  return walkLinks<string | undefined>(path, {
    // Once in /proc or /sys, nothing further changes the answer (and /proc/self is the server's).
    at: (current, pending) =>
      KERNEL_VIEWS.test(current) ? { stop: unresolved(current, pending) } : "look",
    onDisk: (current) => root + current,
    missing: unresolved, // the exec fails on its own
    done: (final) => final,
    tooManyLinks: undefined,
  });
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
