import { mkdir, readdir, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * One cgroup per session above its containers. Each container is capped (proxy/limits.ts), but a
 * session may run 20 of them: this bounds what they take together (memory, CPU, pids), so one
 * session cannot hold 5 GiB or ten containers' CPU quota at once.
 *
 * The engine puts a container under `CgroupParent` (proxy/resources/container-create.ts sets it, students cannot); the
 * server makes that group, with its limits, when the session starts, before any container can
 * run in it, and removes it when the session ends. Needs the engine's cgroupfs driver on this
 * host (paths are then plain folders under /sys/fs/cgroup); with the systemd driver or a remote
 * engine the server logs that sessions are bounded per container only.
 */
export interface SessionCgroupLimits {
  memoryBytes: number;
  nanoCpus: number;
  pids: number;
}

export interface CgroupHost {
  version: 1 | 2;
  /** Where the cgroup filesystem is mounted (both the server's and the engine's view). */
  root: string;
}

const CFS_PERIOD_US = 100_000;
/** v1 hierarchies a session's limits are written in; the engine makes the others itself. */
const V1_LIMITED = ["memory", "cpu", "pids"] as const;

/** Whether per-session groups can be made for this engine, from its `docker info`. */
export function cgroupHostFor(
  info: { CgroupDriver?: string; CgroupVersion?: string },
  dockerHost: string,
  root = "/sys/fs/cgroup",
): CgroupHost | undefined {
  if (info.CgroupDriver !== "cgroupfs" || !dockerHost.startsWith("unix://")) return undefined;
  return { version: info.CgroupVersion === "2" ? 2 : 1, root };
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
  if (host.version === 1) {
    const files: Record<(typeof V1_LIMITED)[number], Record<string, string>> = {
      memory: { "memory.limit_in_bytes": String(limits.memoryBytes) },
      cpu: { "cpu.cfs_period_us": String(CFS_PERIOD_US), "cpu.cfs_quota_us": quota },
      pids: { "pids.max": String(limits.pids) },
    };
    for (const controller of V1_LIMITED) {
      const dir = join(host.root, controller, path);
      await mkdir(dir, { recursive: true });
      for (const [file, value] of Object.entries(files[controller]))
        await writeFile(join(dir, file), value);
    }
    return;
  }
  // v2: one tree; each level must hand the controllers down to the next.
  const parts = path.split("/").filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const dir = join(host.root, ...parts.slice(0, i));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "cgroup.subtree_control"), "+memory +cpu +pids");
  }
  const dir = join(host.root, path);
  await writeFile(join(dir, "memory.max"), String(limits.memoryBytes));
  await writeFile(join(dir, "cpu.max"), `${quota} ${CFS_PERIOD_US}`);
  await writeFile(join(dir, "pids.max"), String(limits.pids));
}

/** Removes the session's group in every hierarchy (its containers are gone by then). */
export async function removeSessionCgroup(host: CgroupHost, path: string): Promise<void> {
  for (const dir of await groupDirs(host, path)) await rmdirWhenEmpty(dir);
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
  for (const dir of await groupDirs(host, `/stowage/${instance}`)) {
    const sessions = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of sessions)
      if (entry.isDirectory() && !keep.has(entry.name)) await rmdirWhenEmpty(join(dir, entry.name));
    // The instance's own group goes once it holds no session's group (a kept one stays).
    const left = await readdir(dir, { withFileTypes: true }).catch(() => []);
    if (!left.some((entry) => entry.isDirectory())) await rmdirWhenEmpty(dir);
  }
}

async function groupDirs(host: CgroupHost, path: string): Promise<string[]> {
  if (host.version === 2) return [join(host.root, path)];
  // Every hierarchy (some are links, e.g. cpu -> cpu,cpuacct): the engine made the group in each.
  const hierarchies = await readdir(host.root).catch(() => []);
  return hierarchies.map((name) => join(host.root, name, path));
}

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
