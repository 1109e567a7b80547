import { BOUNDS } from "./bounds.ts";

/**
 * What one session's containers may use. Clamped silently when unset, refused when exceeded.
 * Limits over all of a session's containers together: sessions/session-cgroup.ts; container
 * starts across the class are admitted a few at a time: docker/engine-admission.ts.
 */
export const LIMITS = {
  memoryBytes: 256 * 1024 * 1024,
  nanoCpus: 500_000_000, // half a core
  cpuShares: 1024, // the engine's default weight: a container may ask for less, never for more than its neighbours
  pids: 128,
  /**
   * Each container's memory is capped, the sum over sessions is not: should the host run out,
   * the kernel's OOM killer must pick a student's process, not the server (250, oom-order.ts) or
   * the engine (0: it cannot be lowered here, see oom-order.ts). Raised to this when unset;
   * lowering it would need a capability the server lacks.
   */
  oomScoreAdjFloor: 500,
  shmBytes: 64 * 1024 * 1024,
  tmpfsBytes: 64 * 1024 * 1024,
  containersPerSession: 20,
  volumesPerSession: 30,
  networksPerSession: 5,
  logMaxSize: "1m",
  logMaxFile: "2",
  /** Sizes and counts inside a request (labels, env, mounts, ports): bounds.ts. */
  jsonBodyBytes: BOUNDS.jsonBodyBytes,
  proxyConnections: 64,
  archiveBodyBytes: 200 * 1024 * 1024,
} as const;
