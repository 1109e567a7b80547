/**
 * What a container really holds on the host: its memory cgroup less page cache (cgroup v1 with
 * the cgroupfs driver, as Debian's 20.10 engine sets it up; v2 read when present) and its
 * containerd shim's proportional set size (PSS: the shim binary's pages are shared by every shim,
 * so RSS would count them once per container).
 */
import { readdir, readFile } from "node:fs/promises";

export interface ContainerMemory {
  /** Cgroup usage less page cache (anonymous memory, tmpfs, kernel memory charged to it). */
  cgroup: number;
  /** Page cache charged to the cgroup (files read; the kernel drops it under pressure). */
  cache: number;
  shimPss: number;
  shimRss: number;
}

const num = (text: string, key: string) =>
  Number(new RegExp(`^${key}:?\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);

async function cgroupMemory(id: string): Promise<{ cgroup: number; cache: number }> {
  const v1 = `/sys/fs/cgroup/memory/docker/${id}`;
  const usage = await readFile(`${v1}/memory.usage_in_bytes`, "utf8").catch(() => undefined);
  if (usage !== undefined) {
    const stat = await readFile(`${v1}/memory.stat`, "utf8");
    const cache = num(stat, "total_cache") - num(stat, "total_shmem"); // tmpfs is memory, not cache
    return { cgroup: Number(usage) - cache, cache };
  }
  for (const v2 of [
    `/sys/fs/cgroup/system.slice/docker-${id}.scope`,
    `/sys/fs/cgroup/docker/${id}`,
  ]) {
    const current = await readFile(`${v2}/memory.current`, "utf8").catch(() => undefined);
    if (current === undefined) continue;
    const stat = await readFile(`${v2}/memory.stat`, "utf8");
    const cache = num(stat, "file") - num(stat, "shmem");
    return { cgroup: Number(current) - cache, cache };
  }
  throw new Error(`no memory cgroup found for container ${id.slice(0, 12)}`);
}

/** pid → command line of every process, read once per measurement. */
export async function processTable(): Promise<Map<number, string>> {
  const table = new Map<number, string>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmd) table.set(Number(entry), cmd.replaceAll("\0", " ").trim());
  }
  return table;
}

/** RSS and PSS of a process in bytes (0 when it is gone). */
export async function processMemory(pid: number): Promise<{ rss: number; pss: number }> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => "");
  return { rss: num(rollup, "Rss") * 1024, pss: num(rollup, "Pss") * 1024 };
}

/** Sum of RSS (and PSS) of every process whose command line matches. */
export async function matchingMemory(
  table: Map<number, string>,
  match: (cmd: string) => boolean,
): Promise<{ rss: number; pss: number; count: number }> {
  let rss = 0,
    pss = 0,
    count = 0;
  for (const [pid, cmd] of table) {
    if (!match(cmd)) continue;
    const m = await processMemory(pid);
    rss += m.rss;
    pss += m.pss;
    count++;
  }
  return { rss, pss, count };
}

export async function containerMemory(
  id: string,
  table?: Map<number, string>,
): Promise<ContainerMemory> {
  const procs = table ?? (await processTable());
  const shim = await matchingMemory(
    procs,
    (cmd) => cmd.includes("containerd-shim") && cmd.includes(id),
  );
  return { ...(await cgroupMemory(id)), shimPss: shim.pss, shimRss: shim.rss };
}

/** The host engine's own daemons (their growth per session is part of a session's cost). */
export async function engineDaemons(
  table: Map<number, string>,
): Promise<{ dockerd: number; containerd: number }> {
  const dockerdPid = Number((await readFile("/var/run/docker.pid", "utf8").catch(() => "")).trim());
  if (!dockerdPid) return { dockerd: 0, containerd: 0 };
  let containerd = 0;
  for (const [pid, cmd] of table) {
    if (!/^(\S*\/)?containerd\s/.test(cmd)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === dockerdPid) containerd += (await processMemory(pid)).rss;
  }
  return { dockerd: (await processMemory(dockerdPid)).rss, containerd };
}

export async function memAvailable(): Promise<{ total: number; available: number }> {
  const info = await readFile("/proc/meminfo", "utf8");
  return { total: num(info, "MemTotal") * 1024, available: num(info, "MemAvailable") * 1024 };
}

/**
 * The kernel's key quota of the engine's remapped root (userns-remap): runc gives every
 * container, and every exec, its own session keyring, all owned by that one uid, and the
 * default quota (kernel.keys.maxkeys = 200) ends container starts with "disk quota exceeded".
 */
export async function keyQuota(): Promise<
  { uid: number; keys: number; maxKeys: number; bytes: number; maxBytes: number } | undefined
> {
  const subuid = await readFile("/etc/subuid", "utf8").catch(() => "");
  const uid = Number(/^dockremap:(\d+):/m.exec(subuid)?.[1] ?? NaN);
  if (!Number.isFinite(uid)) return undefined;
  const users = await readFile("/proc/key-users", "utf8").catch(() => "");
  const line = new RegExp(
    `^\\s*${uid}:\\s+\\d+\\s+\\S+\\s+(\\d+)/(\\d+)\\s+(\\d+)/(\\d+)`,
    "m",
  ).exec(users);
  const maxKeys = Number(await readFile("/proc/sys/kernel/keys/maxkeys", "utf8").catch(() => "0"));
  const maxBytes = Number(
    await readFile("/proc/sys/kernel/keys/maxbytes", "utf8").catch(() => "0"),
  );
  return { uid, keys: Number(line?.[1] ?? 0), maxKeys, bytes: Number(line?.[3] ?? 0), maxBytes };
}
