/**
 * A disk quota that needs no special filesystem: every few seconds, measure what the session
 * holds on the host (its home folder, the data folders of its volumes, `du`-style, and its
 * containers' writable layers, as `docker ps -s` sizes them) and, past the limit, pause the
 * session's running containers that write to a volume, a bind mount or their own layer and tell
 * the student what happened and how to get out of it.
 *
 * Container logs are bounded by the engine (json-file, 1m x 2, set in proxy/limits.ts) and tmpfs mounts
 * by their size (at most 64m each, charged to the container's memory limit), so neither is
 * measured here.
 *
 * Wiring (session-manager.ts): after the workstation starts,
 *   session.quota = startDiskQuota({ docker, scope, onOver: (m) => session.terminal?.notice(m) });
 * and `session.quota.stop()` first thing in destroy().
 */
import { execFile } from "node:child_process";
import type Docker from "dockerode";
import { LABEL_OWNER, LABEL_ROLE, LABEL_SESSION, type SessionScope } from "../naming/scope.ts";
import { rawEngineRequest, type Engine } from "../docker/engine.ts";

export const DISK_QUOTA = {
  /** Home + volumes of one session. */
  limitBytes: 1024 * 1024 * 1024,
  intervalMs: 5000,
  /**
   * A remote engine (its host's folders are not this server's): the home volume's and the
   * student's volumes' sizes come from the engine's `system df`, which walks every volume on
   * the engine (0.6 s for 160 volumes of 2000 files each, measured: docs/decisions/engines.md),
   * so one measure is shared by all of an engine's sessions and taken every 10 s, not 5.
   */
  remoteIntervalMs: 10_000,
};

const sharedSizes = new WeakMap<object, { at: number; sizes: Promise<Map<string, number>> }>();

/**
 * engineVolumeSizes shared by every session of an engine: one `system df` per engine at most
 * every `maxAgeMs` (it walks every volume there, so one per session would cost sessions x
 * volumes), a fresh one when `maxAgeMs` is 0.
 */
export function sharedVolumeSizes(
  engine: Pick<Engine, "httpTarget">,
  maxAgeMs: number,
): Promise<Map<string, number>> {
  const cached = sharedSizes.get(engine);
  if (cached && Date.now() - cached.at < maxAgeMs) return cached.sizes;
  const sizes = engineVolumeSizes(engine);
  sharedSizes.set(engine, { at: Date.now(), sizes });
  sizes.catch(() => sharedSizes.delete(engine)); // a failed df is asked again next time
  return sizes;
}

/**
 * Sizes of every volume on an engine, by name, from `GET /system/df?type=volume` (API 1.42+:
 * only volumes are sized, not every container's layer and image). -1 where the engine did not size it.
 */
export function engineVolumeSizes(
  engine: Pick<Engine, "httpTarget">,
  timeoutMs = 60_000,
): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const req = rawEngineRequest(
      engine,
      { method: "GET", path: "/v1.45/system/df?type=volume", timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          try {
            if ((res.statusCode ?? 500) >= 300) throw new Error(`system df: ${res.statusCode}`);
            const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
              Volumes?: { Name: string; UsageData?: { Size?: number } | null }[] | null;
            };
            resolve(new Map((body.Volumes ?? []).map((v) => [v.Name, v.UsageData?.Size ?? -1])));
          } catch (error) {
            reject(error as Error);
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("system df timed out")));
    req.on("error", reject);
    req.end();
  });
}

export interface DiskUsage {
  homeBytes: number;
  volumeBytes: Record<string, number>;
  /** Each container's writable layer (what it wrote outside its volumes), by the student's name. */
  layerBytes: Record<string, number>;
  totalBytes: number;
}

/** A running container that wrote this much into its own layer is paused with the writers. */
const LAYER_WRITER_BYTES = 1024 * 1024;

export interface DiskQuotaOptions {
  docker: Docker;
  scope: SessionScope;
  limitBytes?: number;
  intervalMs?: number;
  /** On a remote engine: sizes from the engine (engineVolumeSizes), the home being scope.homeVolumeName there. */
  remote?: { engine: Pick<Engine, "httpTarget"> };
  /** Called once each time the session goes over the limit, with the text for the student. */
  onOver: (message: string, usage: DiskUsage) => void;
}

export interface DiskQuota {
  /**
   * Measures now; pauses and tells the student when over the limit. On a remote engine the
   * volumes' sizes may be the engine's shared measure of the last interval, unless `fresh`.
   */
  check(fresh?: boolean): Promise<{ usage: DiskUsage; over: boolean; paused: string[] }>;
  /**
   * Bytes the session may still write through a path no measurement pauses (`docker cp` into a
   * container that never ran): the limit minus the last measure and what was charged since.
   */
  remaining(): number;
  /** Counts bytes written through such a path until the next measure sees them. */
  charge(bytes: number): void;
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
  const places: [string, number][] = [
    [`your home folder (${mib(usage.homeBytes)})`, usage.homeBytes],
    ...Object.entries(usage.volumeBytes).map(([name, n]): [string, number] => [
      `the volume ${name} (${mib(n)})`,
      n,
    ]),
    ...Object.entries(usage.layerBytes).map(([name, n]): [string, number] => [
      `the container ${name}'s own filesystem, outside its volumes (${mib(n)})`,
      n,
    ]),
  ];
  const where = places.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  return [
    `Your sandbox is using ${mib(usage.totalBytes)} of disk, over its limit of ${mib(limitBytes)}; most of it is in ${where}.`,
    paused.length ? `These containers were paused so they stop writing: ${paused.join(", ")}.` : "",
    "Free some space (rm files, docker volume rm, docker rm), then `docker unpause` what you keep.",
  ]
    .filter(Boolean)
    .join(" ");
}

export function startDiskQuota(options: DiskQuotaOptions): DiskQuota {
  const { docker, scope } = options;
  const limitBytes = options.limitBytes ?? DISK_QUOTA.limitBytes;
  const owner = { label: [scope.ownerFilter()] };
  // The session's containers, its own and a build's RUN steps: the classic builder's step
  // containers carry no label of ours but inherit the image's, and the proxy puts the session's
  // right after each FROM (proxy/dockerfile.ts), so they are the session-labelled ones with
  // neither an owner nor a role (the workstation and check container have a role).
  const session = { label: [`${LABEL_SESSION}=${scope.sessionId}`] };
  const isBuildStep = (c: Docker.ContainerInfo) =>
    !c.Labels?.[LABEL_OWNER] && !c.Labels?.[LABEL_ROLE];
  let wasOver = false;
  let measuredBytes = 0;
  let chargedBytes = 0;
  let running: Promise<unknown> | undefined;
  const containerName = (c: Docker.ContainerInfo) =>
    scope.studentName(c.Names[0] ?? "") ?? c.Id.slice(0, 12);

  type Sized = Docker.ContainerInfo & { SizeRw?: number };
  const interval =
    options.intervalMs ?? (options.remote ? DISK_QUOTA.remoteIntervalMs : DISK_QUOTA.intervalMs);
  const measure = async (fresh: boolean): Promise<{ usage: DiskUsage; containers: Sized[] }> => {
    const [volumeList, containers] = await Promise.all([
      docker.listVolumes({ filters: owner }).catch(() => ({ Volumes: [] })),
      // size: the engine walks each listed container's layer; only this session's are listed.
      docker
        .listContainers({ all: true, size: true, filters: session })
        .then((all) =>
          all.filter((c) => c.Labels?.[LABEL_OWNER] === scope.sessionId || isBuildStep(c)),
        )
        .catch(() => []),
    ]);
    const volumes = volumeList.Volumes ?? [];
    let homeBytes: number;
    let sizes: number[];
    if (options.remote) {
      // Shared by the engine's sessions: a measure at most one interval old (a bit less, so
      // each session's timer finds a new one).
      const sized = await sharedVolumeSizes(options.remote.engine, fresh ? 0 : interval * 0.9);
      const size = (name: string) => Math.max(0, sized.get(name) ?? 0);
      homeBytes = size(scope.homeVolumeName);
      sizes = volumes.map((v) => size(v.Name));
    } else
      [homeBytes, ...sizes] = await Promise.all([
        duBytes(scope.workspaceDir),
        ...volumes.map((v) => duBytes(v.Mountpoint)),
      ]);
    const volumeBytes: Record<string, number> = {};
    volumes.forEach((v, i) => (volumeBytes[scope.studentName(v.Name) ?? v.Name] = sizes[i]!));
    const layerBytes: Record<string, number> = {};
    for (const c of containers as Sized[])
      layerBytes[isBuildStep(c) ? `a build step (${c.Id.slice(0, 12)})` : containerName(c)] =
        c.SizeRw ?? 0;
    const layers = Object.values(layerBytes).reduce((a, b) => a + b, 0);
    return {
      usage: {
        homeBytes,
        volumeBytes,
        layerBytes,
        totalBytes: homeBytes + sizes.reduce((a, b) => a + b, 0) + layers,
      },
      containers,
    };
  };

  const check = async (fresh = false) => {
    const charged = chargedBytes;
    const { usage, containers } = await measure(fresh);
    measuredBytes = usage.totalBytes;
    chargedBytes -= charged; // what was charged before this measure is in it now
    const over = usage.totalBytes > limitBytes;
    const paused: string[] = [];
    if (over) {
      // The listing measure() made: no second round trip to the engine.
      for (const c of containers) {
        if (c.State !== "running") continue;
        if (isBuildStep(c)) {
          // A paused step would hold its build forever: it is stopped, and the build fails there.
          const stopped = await docker
            .getContainer(c.Id)
            .kill()
            .then(
              () => true,
              () => false,
            );
          if (stopped) paused.push("a build step (RUN), stopped: its build fails");
          continue;
        }
        const writesLayer = (c.SizeRw ?? 0) >= LAYER_WRITER_BYTES;
        if (!writesLayer && !(c.Mounts ?? []).some((m) => m.Type === "volume" || m.Type === "bind"))
          continue;
        const ok = await docker
          .getContainer(c.Id)
          .pause()
          .then(
            () => true,
            () => false,
          );
        if (ok) paused.push(containerName(c));
      }
      if (!wasOver || paused.length)
        options.onOver(overQuotaMessage(usage, limitBytes, paused), usage);
    }
    wasOver = over;
    return { usage, over, paused };
  };

  const timer = setInterval(() => {
    running ??= check()
      .catch(() => undefined)
      .finally(() => (running = undefined));
  }, interval);
  timer.unref();
  return {
    check,
    remaining: () => Math.max(0, limitBytes - measuredBytes - chargedBytes),
    charge: (bytes) => void (chargedBytes += bytes),
    stop: () => clearInterval(timer),
  };
}
