import { mkdir, readdir, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { HostCommands } from "../docker/host-helper.ts";

/**
 * One cgroup per session above its containers. Each container is capped (proxy/limits.ts), but a
 * session may run 20 of them: this bounds what they take together (memory, CPU, pids), so one
 * session cannot hold 5 GiB or ten containers' CPU quota at once.
 *
 * The engine puts a container under `CgroupParent` (proxy/resources/container-create.ts sets it, students cannot); the
 * server makes that group, with its limits, when the session starts, before any container can
 * run in it, and removes it when the session ends. Needs the engine's cgroupfs driver (paths are
 * then plain folders under /sys/fs/cgroup); with the systemd driver the server logs that sessions
 * are bounded per container only. On this host the folders are written directly
 * (`LOCAL_CGROUP_FILES`); on a remote engine's host through its helper container
 * (`helperCgroupFiles`, docker/host-helper.ts), a few commands per operation.
 */
export interface SessionCgroupLimits {
  memoryBytes: number;
  nanoCpus: number;
  pids: number;
}

/** One step of making a group: a folder (with its parents) or a file's new content. */
export type CgroupStep = { mkdir: string } | { write: string; value: string };

/** Where cgroup writes go: this host's cgroupfs, or the engine's host's through its helper. */
export interface CgroupFiles {
  /** Makes the folders and writes the files, in order; the first failure stops it (and throws). */
  apply(steps: readonly CgroupStep[]): Promise<void>;
  /** The names in a folder (none when it is missing). */
  names(dir: string): Promise<string[]>;
  /** The folders directly inside each of `dirs` (none for a missing one), in the same order. */
  subdirs(dirs: readonly string[]): Promise<string[][]>;
  /** Removes each folder, in order: a missing one is fine, a busy one gets a few tries, then is left. */
  rmdirs(dirs: readonly string[]): Promise<void>;
}

export interface CgroupHost {
  version: 1 | 2;
  /** Where the cgroup filesystem is mounted (both the server's or helper's and the engine's view). */
  root: string;
  /** Where its writes go. */
  files: CgroupFiles;
}

const CFS_PERIOD_US = 100_000;
/** v1 hierarchies a session's limits are written in; the engine makes the others itself. */
const V1_LIMITED = ["memory", "cpu", "pids"] as const;

/** Whether per-session groups can be made for this engine of this host, from its `docker info`. */
export function cgroupHostFor(
  info: { CgroupDriver?: string; CgroupVersion?: string },
  dockerHost: string,
  root = "/sys/fs/cgroup",
): CgroupHost | undefined {
  if (info.CgroupDriver !== "cgroupfs" || !dockerHost.startsWith("unix://")) return undefined;
  return { version: info.CgroupVersion === "2" ? 2 : 1, root, files: LOCAL_CGROUP_FILES };
}

/**
 * The same for any engine: this host's cgroupfs for a local one (`cgroupHostFor`); for a remote
 * one (`engine.remote`), its host's, through its helper, once the helper showed it can write
 * there (undefined otherwise, as for the systemd driver: sessions are then bounded per
 * container only; `problem` says why).
 */
export async function engineCgroupHost(
  engine: { remote: boolean; address: { address: string } },
  info: { CgroupDriver?: string; CgroupVersion?: string },
  helper: HostCommands | undefined,
): Promise<{ host: CgroupHost | undefined; problem?: string }> {
  if (!engine.remote) return { host: cgroupHostFor(info, engine.address.address) };
  if (info.CgroupDriver !== "cgroupfs")
    return { host: undefined, problem: `the engine uses the ${info.CgroupDriver} cgroup driver` };
  if (!helper) return { host: undefined, problem: "no helper on the engine's host" };
  const version = info.CgroupVersion === "2" ? 2 : 1;
  const root = "/sys/fs/cgroup";
  // The hierarchy the limits are written in must be there and writable for the helper.
  const probe = version === 2 ? root : join(root, "memory");
  try {
    await helper.run(["test", "-w", probe]);
  } catch (error) {
    return { host: undefined, problem: `${probe} is not writable: ${(error as Error).message}` };
  }
  return { host: { version, root, files: helperCgroupFiles(helper) } };
}

/** `CgroupParent` for a session's containers. */
export function sessionCgroupPath(instance: string, sessionId: string): string {
  return `/stowage/${instance}/${sessionId}`;
}

export async function createSessionCgroup(
  host: CgroupHost,
  path: string,
  limits: SessionCgroupLimits,
): Promise<void> {
  const quota = String(Math.round((limits.nanoCpus / 1e9) * CFS_PERIOD_US));
  const steps: CgroupStep[] = [];
  if (host.version === 1) {
    const files: Record<(typeof V1_LIMITED)[number], Record<string, string>> = {
      memory: { "memory.limit_in_bytes": String(limits.memoryBytes) },
      cpu: { "cpu.cfs_period_us": String(CFS_PERIOD_US), "cpu.cfs_quota_us": quota },
      pids: { "pids.max": String(limits.pids) },
    };
    for (const controller of V1_LIMITED) {
      const dir = join(host.root, controller, path);
      steps.push({ mkdir: dir });
      for (const [file, value] of Object.entries(files[controller]))
        steps.push({ write: join(dir, file), value });
    }
    return host.files.apply(steps);
  }
  // v2: one tree; each level must hand the controllers down to the next.
  const parts = path.split("/").filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const dir = join(host.root, ...parts.slice(0, i));
    steps.push({ mkdir: dir });
    steps.push({ write: join(dir, "cgroup.subtree_control"), value: "+memory +cpu +pids" });
  }
  const dir = join(host.root, path);
  steps.push({ write: join(dir, "memory.max"), value: String(limits.memoryBytes) });
  steps.push({ write: join(dir, "cpu.max"), value: `${quota} ${CFS_PERIOD_US}` });
  steps.push({ write: join(dir, "pids.max"), value: String(limits.pids) });
  return host.files.apply(steps);
}

/** Removes the session's group in every hierarchy (its containers are gone by then). */
export async function removeSessionCgroup(host: CgroupHost, path: string): Promise<void> {
  await host.files.rmdirs(await groupDirs(host, path));
}

/**
 * Removes every session group of an instance but those of the sessions in `keep` (adopted by a
 * restarted server), and the instance's own when none is kept (a dead run's leftovers, or at stop).
 */
export async function removeInstanceCgroups(
  host: CgroupHost,
  instance: string,
  keep: { has(sessionId: string): boolean } = new Set<string>(),
): Promise<void> {
  const dirs = await groupDirs(host, `/stowage/${instance}`);
  const sessions = await host.files.subdirs(dirs);
  const ended = dirs.flatMap((dir, i) =>
    (sessions[i] ?? []).filter((name) => !keep.has(name)).map((name) => join(dir, name)),
  );
  if (ended.length > 0) await host.files.rmdirs(ended);
  // The instance's own group goes once it holds no session's group (a kept one stays).
  const left = await host.files.subdirs(dirs);
  const empty = dirs.filter((_, i) => (left[i] ?? []).length === 0);
  if (empty.length > 0) await host.files.rmdirs(empty);
}

async function groupDirs(host: CgroupHost, path: string): Promise<string[]> {
  if (host.version === 2) return [join(host.root, path)];
  // Every hierarchy (some are links, e.g. cpu -> cpu,cpuacct): the engine made the group in each.
  const hierarchies = await host.files.names(host.root);
  return hierarchies.map((name) => join(host.root, name, path));
}

/** This host's cgroupfs, written directly. */
export const LOCAL_CGROUP_FILES: CgroupFiles = {
  async apply(steps) {
    for (const step of steps)
      if ("mkdir" in step) await mkdir(step.mkdir, { recursive: true });
      else await writeFile(step.write, step.value);
  },
  names: (dir) => readdir(dir).catch(() => []),
  subdirs: (dirs) =>
    Promise.all(
      dirs.map(async (dir) =>
        (await readdir(dir, { withFileTypes: true }).catch(() => []))
          .filter((entry) => entry.isDirectory())
          .map((entry) => entry.name),
      ),
    ),
  async rmdirs(dirs) {
    for (const dir of dirs) await rmdirWhenEmpty(dir);
  },
};

/** rmdir of a cgroup; the engine may still be tearing a container's group down: a few tries. */
async function rmdirWhenEmpty(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return;
      if (code !== "EBUSY" && code !== "ENOTEMPTY") throw error;
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    }
  }
}

/**
 * A remote engine's host's cgroupfs, through its helper (docker/host-helper.ts): each call is one
 * `sh` exec whose paths are its arguments, never part of the script.
 */
export function helperCgroupFiles(helper: HostCommands): CgroupFiles {
  const sh = (script: string, args: readonly string[]) =>
    helper.run(["sh", "-c", script, "sh", ...args]);
  return {
    async apply(steps) {
      const args = steps.flatMap((step) =>
        "mkdir" in step ? ["mkdir", step.mkdir] : ["write", step.write, step.value],
      );
      await sh(APPLY_SCRIPT, args);
    },
    async names(dir) {
      const { stdout } = await sh(NAMES_SCRIPT, [dir]);
      return stdout.split("\n").filter(Boolean);
    },
    async subdirs(dirs) {
      if (dirs.length === 0) return [];
      const { stdout } = await sh(SUBDIRS_SCRIPT, dirs);
      const found: string[][] = dirs.map(() => []);
      for (const line of stdout.split("\n")) {
        const tab = line.indexOf("\t");
        if (tab > 0) found[Number(line.slice(0, tab))]?.push(line.slice(tab + 1));
      }
      return found;
    },
    async rmdirs(dirs) {
      if (dirs.length > 0) await sh(RMDIRS_SCRIPT, dirs);
    },
  };
}

/** mkdir DIR | write FILE VALUE, repeated; stops at the first failure (set -e). */
const APPLY_SCRIPT = `set -e
while [ $# -gt 0 ]; do
  case "$1" in
    mkdir) mkdir -p -- "$2"; shift 2 ;;
    write) printf '%s' "$3" > "$2"; shift 3 ;;
    *) echo "unknown step $1" >&2; exit 2 ;;
  esac
done`;

/** The names in $1, one a line (none when it is missing). */
const NAMES_SCRIPT = `for e in "$1"/*; do [ -e "$e" ] || [ -L "$e" ] && printf '%s\n' "\${e##*/}"; done; exit 0`;

/** "INDEX<tab>NAME" for each folder inside each argument. */
const SUBDIRS_SCRIPT = `i=0
for d; do
  for e in "$d"/*/; do
    [ -d "$e" ] && { e=\${e%/}; printf '%s\t%s\n' "$i" "\${e##*/}"; }
  done
  i=$((i + 1))
done
exit 0`;

/** rmdir of each argument: gone or not a folder is fine; busy or not empty, a few tries, then left. */
const RMDIRS_SCRIPT = `for d; do
  n=0
  while ! err=$(rmdir -- "$d" 2>&1); do
    [ -d "$d" ] || break
    case "$err" in
      *busy*|*"not empty"*) ;;
      *) printf '%s\n' "$err" >&2; exit 1 ;;
    esac
    n=$((n + 1))
    [ "$n" -ge 5 ] && break
    sleep "0.$n"
  done
done
exit 0`;
