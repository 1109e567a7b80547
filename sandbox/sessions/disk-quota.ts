/**
 * A disk quota that needs no special filesystem: every few seconds, measure what the session
 * holds on the host (its home folder and the data folders of its volumes, `du`-style) and, past
 * the limit, pause the session's running containers that write to a volume or a bind mount and
 * tell the student what happened and how to get out of it.
 *
 * Container logs are bounded by the engine (json-file, 1m x 2, set in policy.ts) and tmpfs mounts
 * by their size (at most 64m each, charged to the container's memory limit), so neither is
 * measured here. A container's writable layer is not measured either (it lives in the engine's
 * overlay folder; `docker ps -s` shows it): see the report for bounding it.
 *
 * Wiring (session-manager.ts): after the workstation starts,
 *   session.quota = startDiskQuota({ docker, scope, onOver: (m) => session.terminal?.notice(m) });
 * and `session.quota.stop()` first thing in destroy().
 */
import { execFile } from "node:child_process";
import type Docker from "dockerode";
import type { SessionScope } from "./scope.ts";

export const DISK_QUOTA = {
  /** Home + volumes of one session. */
  limitBytes: 1024 * 1024 * 1024,
  intervalMs: 5000,
};

export interface DiskUsage {
  homeBytes: number;
  volumeBytes: Record<string, number>;
  totalBytes: number;
}

export interface DiskQuotaOptions {
  docker: Docker;
  scope: SessionScope;
  limitBytes?: number;
  intervalMs?: number;
  /** Called once each time the session goes over the limit, with the text for the student. */
  onOver: (message: string, usage: DiskUsage) => void;
}

export interface DiskQuota {
  /** Measures now; pauses and tells the student when over the limit. */
  check(): Promise<{ usage: DiskUsage; over: boolean; paused: string[] }>;
  stop(): void;
}

/** Bytes used under a folder (apparent sizes, one filesystem, links not followed). */
export function duBytes(path: string, timeoutMs = 20_000): Promise<number> {
  return new Promise((resolve) => {
    execFile("du", ["-sxb", "--", path], { timeout: timeoutMs }, (error, stdout) => {
      const n = Number(String(stdout).split(/\s/)[0]);
      resolve(Number.isFinite(n) && (!error || n > 0) ? n : 0);
    });
  });
}

const mib = (n: number) => `${Math.round(n / 1024 / 1024)} MiB`;

export function overQuotaMessage(usage: DiskUsage, limitBytes: number, paused: string[]): string {
  const biggest = Object.entries(usage.volumeBytes).sort((a, b) => b[1] - a[1])[0];
  const where = biggest && biggest[1] > usage.homeBytes ? `the volume ${biggest[0]} (${mib(biggest[1])})` : `your home folder (${mib(usage.homeBytes)})`;
  return [
    `Your sandbox is using ${mib(usage.totalBytes)} of disk, over its limit of ${mib(limitBytes)}; most of it is in ${where}.`,
    paused.length ? `These containers were paused so they stop writing: ${paused.join(", ")}.` : "",
    "Free some space (rm files, docker volume rm, docker rm), then `docker unpause` them.",
  ].filter(Boolean).join(" ");
}

export function startDiskQuota(options: DiskQuotaOptions): DiskQuota {
  const { docker, scope } = options;
  const limitBytes = options.limitBytes ?? DISK_QUOTA.limitBytes;
  const owner = { label: [scope.ownerFilter()] };
  let wasOver = false;
  let running: Promise<unknown> | undefined;

  const measure = async (): Promise<DiskUsage> => {
    const volumes = (await docker.listVolumes({ filters: owner }).catch(() => ({ Volumes: [] }))).Volumes ?? [];
    const [homeBytes, ...sizes] = await Promise.all([duBytes(scope.workspaceDir), ...volumes.map((v) => duBytes(v.Mountpoint))]);
    const volumeBytes: Record<string, number> = {};
    volumes.forEach((v, i) => (volumeBytes[scope.studentName(v.Name) ?? v.Name] = sizes[i]!));
    return { homeBytes: homeBytes!, volumeBytes, totalBytes: homeBytes! + sizes.reduce((a, b) => a + b, 0) };
  };

  const check = async () => {
    const usage = await measure();
    const over = usage.totalBytes > limitBytes;
    const paused: string[] = [];
    if (over) {
      const containers = await docker.listContainers({ filters: { ...owner, status: ["running"] } }).catch(() => []);
      for (const c of containers) {
        if (!(c.Mounts ?? []).some((m) => m.Type === "volume" || m.Type === "bind")) continue;
        const ok = await docker.getContainer(c.Id).pause().then(() => true, () => false);
        if (ok) paused.push(scope.studentName(c.Names[0] ?? "") ?? c.Id.slice(0, 12));
      }
      if (!wasOver || paused.length) options.onOver(overQuotaMessage(usage, limitBytes, paused), usage);
    }
    wasOver = over;
    return { usage, over, paused };
  };

  const timer = setInterval(() => {
    running ??= check().catch(() => undefined).finally(() => (running = undefined));
  }, options.intervalMs ?? DISK_QUOTA.intervalMs);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
