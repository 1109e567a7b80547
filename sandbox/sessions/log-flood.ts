/**
 * Container output is copied by the engine, line by line, into its log files: that work runs in
 * dockerd, outside every session's cgroup, and a container printing as fast as it can (`yes`)
 * kept a core of dockerd busy whatever the logging driver (json-file, local, non-blocking mode
 * all measured at 55-100% of a core per flooding container; docs/hardening.md). No driver option
 * bounds a rate, so this does: every `intervalMs` each running container's log file is measured
 * (a stat, no engine call), and a container whose output grew past `maxBytesPerInterval` is
 * paused, and the student told which one, why, and how to go on. Its logs stay readable.
 *
 * Wiring (session-manager.ts): `watch(id)` when the proxy started a container; a resync lists the
 * session's running containers every `resyncMs` for those the engine restarted by itself.
 */
import { stat } from "node:fs/promises";
import type Docker from "dockerode";
import { LABEL_OWNER, type SessionScope } from "../naming/scope.ts";

export const LOG_FLOOD = {
  intervalMs: 1000,
  /** ~256 KiB/s: a database's start-up prints a few KiB; `yes` prints hundreds of MiB/s. */
  maxBytesPerInterval: 256 * 1024,
  resyncMs: 15_000,
  /** The json-file max-size the proxy sets (proxy/limits.ts LIMITS.logMaxSize): a rotation means at least this much. */
  rotationBytes: 1024 * 1024,
};

export interface LogFloodGuard {
  watch(containerId: string): Promise<void>;
  /** Measures now (tests call it; the timer calls it every intervalMs). */
  check(): Promise<string[]>;
  stop(): void;
}

interface Watched {
  logPath: string;
  name: string;
  ino: number;
  size: number;
}

export function startLogFloodGuard(options: {
  docker: Docker;
  scope: SessionScope;
  onFlood: (message: string) => void;
  intervalMs?: number;
  maxBytesPerInterval?: number;
}): LogFloodGuard {
  const { docker, scope } = options;
  const maxBytes = options.maxBytesPerInterval ?? LOG_FLOOD.maxBytesPerInterval;
  const watched = new Map<string, Watched>();
  let running: Promise<unknown> | undefined;

  const watch = async (id: string) => {
    if (watched.has(id)) return;
    const info = await docker
      .getContainer(id)
      .inspect()
      .catch(() => undefined);
    if (!info?.LogPath || info.Config.Labels?.[LABEL_OWNER] !== scope.sessionId) return; // the student's own only
    const now = await stat(info.LogPath).catch(() => undefined);
    watched.set(id, {
      logPath: info.LogPath,
      name: scope.studentName(info.Name) ?? id.slice(0, 12),
      ino: now?.ino ?? 0,
      size: now?.size ?? 0,
    });
  };

  const check = async () => {
    const paused: string[] = [];
    for (const [id, w] of watched) {
      const now = await stat(w.logPath).catch(() => undefined);
      if (!now) {
        watched.delete(id); // removed
        continue;
      }
      const grown =
        now.ino === w.ino
          ? now.size - w.size
          : Math.max(0, LOG_FLOOD.rotationBytes - w.size) + now.size;
      w.ino = now.ino;
      w.size = now.size;
      if (grown <= maxBytes) continue;
      const ok = await docker
        .getContainer(id)
        .pause()
        .then(
          () => true,
          () => false,
        );
      if (!ok) continue;
      paused.push(w.name);
      options.onFlood(
        `The container ${w.name} printed ${Math.round(grown / 1024)} KiB of output in a moment, more than this sandbox's engine can log for everyone; it was paused. ` +
          `Its output is in docker logs ${w.name}. Go on with docker unpause ${w.name} (it is paused again if it keeps printing this fast), or stop it with docker rm -f ${w.name}.`,
      );
    }
    return paused;
  };

  const resync = async () => {
    const list = await docker
      .listContainers({ filters: { label: [scope.ownerFilter()], status: ["running"] } })
      .catch(() => []);
    for (const c of list) await watch(c.Id);
  };

  const timer = setInterval(() => {
    running ??= check()
      .catch(() => undefined)
      .finally(() => (running = undefined));
  }, options.intervalMs ?? LOG_FLOOD.intervalMs);
  timer.unref();
  // One at a time: on an engine that hangs, each round would add one more open request.
  let resyncing: Promise<unknown> | undefined;
  const resyncTimer = setInterval(() => {
    resyncing ??= resync()
      .catch(() => undefined)
      .finally(() => (resyncing = undefined));
  }, LOG_FLOOD.resyncMs);
  resyncTimer.unref();
  return {
    watch,
    check,
    stop: () => {
      clearInterval(timer);
      clearInterval(resyncTimer);
    },
  };
}
