/**
 * The engines sessions run on (STOWAGE_ENGINES beside the default one), whether each answers,
 * whether an operator drains it, and where a new session goes.
 *
 * Placement: among the engines that answer and are not draining, those with room (the engine's
 * host has at least one more session's memory cap available) come first; among them the one
 * with the fewest live sessions per GiB of the engine's memory, then the shortest start queue.
 * Why: a session's cost is mostly its own (a shell, a proxy, the containers it starts under its
 * memory cap), so sessions per GiB spreads both the memory and the container starts, which each
 * engine admits on its own (engine-admission.ts). When no engine has room, the least loaded one
 * still takes the session (as the one engine did before): each session is capped anyway.
 * Free memory: this host's /proc/meminfo for its engines (read at each placement, as before); a
 * remote engine's host's through its helper (host-helper.ts), read at most every 30 s.
 */
import { readFile } from "node:fs/promises";
import type { Logger } from "../log.ts";
import { probeEngine, type Engine } from "./engine.ts";
import { parseMemAvailable, type HostHelper } from "./host-helper.ts";

/** How long a remote host's free memory is used before it is read again. */
export const REMOTE_MEMORY_TTL_MS = 30_000;

interface RemoteMemory {
  bytes: number | undefined;
  at: number;
  reading: Promise<number | undefined> | undefined;
}

export interface EngineStatus {
  engine: Engine;
  /** The last probe answered. */
  answers: boolean;
  /** An operator asked for no new sessions here. */
  draining: boolean;
  /** Since when the engine is in its current answering state (ms). */
  since: number;
  /** What the last failed probe said (server log and /api/health only). */
  problem: string | undefined;
  version: string | undefined;
  /** The engine's memory (docker info MemTotal). */
  memTotalBytes: number | undefined;
}

/** Probe failures in a row before an engine counts as down (one slow `docker info` is not an outage). */
const FAILURES_FOR_DOWN = 2;

export class EngineFleet {
  readonly engines: readonly Engine[];
  private readonly status = new Map<Engine, EngineStatus>();
  private readonly failures = new Map<Engine, number>();
  private readonly listeners = new Set<(engine: Engine, answers: boolean) => void>();
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private probing: Promise<void> | undefined;
  private readonly helpers = new Map<Engine, Pick<HostHelper, "memAvailableBytes">>();
  private readonly remoteMemory = new Map<Engine, RemoteMemory>();

  constructor(engines: Engine[], log: Logger, drained: string[] = []) {
    if (engines.length === 0) throw new Error("no engine");
    this.engines = engines;
    this.log = log;
    for (const engine of engines)
      this.status.set(engine, {
        engine,
        answers: true, // until a probe says otherwise: the server starts as it did with one engine
        draining: drained.includes(engine.name),
        since: Date.now(),
        problem: undefined,
        version: undefined,
        memTotalBytes: undefined,
      });
  }

  get default(): Engine {
    return this.engines[0]!;
  }

  byName(name: string): Engine | undefined {
    return this.engines.find((e) => e.name === name);
  }

  state(engine: Engine): EngineStatus {
    return this.status.get(engine)!;
  }

  /** Answers and takes new sessions. */
  usable(engine: Engine): boolean {
    const s = this.state(engine);
    return s.answers && !s.draining;
  }

  /** Where a remote engine's host is asked for its free memory (SessionManager sets it). */
  useHostHelper(engine: Engine, helper: Pick<HostHelper, "memAvailableBytes">): void {
    this.helpers.set(engine, helper);
  }

  /**
   * The free memory (MemAvailable) of the engine's host, or undefined when unknown. This host's
   * for a local engine, read now; a remote one's through its helper: the last reading while it
   * is under 30 s old (then read again in the background), awaited only for the first.
   */
  async memAvailableBytes(engine: Engine): Promise<number | undefined> {
    if (!engine.remote) return hostMemAvailable();
    const helper = this.helpers.get(engine);
    if (!helper) return undefined;
    let memory = this.remoteMemory.get(engine);
    if (!memory)
      this.remoteMemory.set(engine, (memory = { bytes: undefined, at: 0, reading: undefined }));
    const entry = memory;
    if (Date.now() - entry.at < REMOTE_MEMORY_TTL_MS) return entry.bytes;
    entry.reading ??= helper
      .memAvailableBytes()
      .catch((error: unknown) => {
        this.log.warn(
          { engine: engine.name, err: (error as Error).message },
          "free memory of the engine's host not read",
        );
        return undefined;
      })
      .then((bytes) => {
        Object.assign(entry, { bytes, at: Date.now(), reading: undefined });
        return bytes;
      });
    return entry.at === 0 ? entry.reading : entry.bytes;
  }

  /** Called when an engine stops answering (false) or answers again (true). */
  onChange(listener: (engine: Engine, answers: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setDraining(engine: Engine, draining: boolean): void {
    const s = this.state(engine);
    if (s.draining === draining) return;
    s.draining = draining;
    this.log.info(
      { engine: engine.name, draining },
      draining ? "engine draining" : "engine takes sessions again",
    );
  }

  /**
   * The engine for a new session, or undefined when none answers and takes sessions.
   * `live(engine)` counts the sessions it holds now (made or being made).
   */
  async place(
    live: (engine: Engine) => number,
    sessionMemoryBytes: number,
  ): Promise<Engine | undefined> {
    const candidates = this.engines.filter((e) => this.usable(e));
    if (candidates.length <= 1) return candidates[0];
    // Local engines share this host's memory (read once); a remote one's is its host's.
    const local = candidates.some((e) => !e.remote) ? await hostMemAvailable() : undefined;
    const available = await Promise.all(
      candidates.map((e) => (e.remote ? this.memAvailableBytes(e) : local)),
    );
    const scored = candidates.map((engine, i) => {
      const memory = this.state(engine).memTotalBytes ?? 1;
      const free = available[i];
      const room = free === undefined || free >= sessionMemoryBytes;
      return {
        engine,
        room,
        perGiB: live(engine) / (memory / 2 ** 30),
        queue: engine.starts.load.waiting,
      };
    });
    scored.sort(
      (a, b) => Number(b.room) - Number(a.room) || a.perGiB - b.perGiB || a.queue - b.queue,
    );
    return scored[0]!.engine;
  }

  /** Probes every engine now and then every `intervalMs`. */
  async start(intervalMs = 2000): Promise<void> {
    // One engine: nothing to choose between; the routes probe it when they need to, as before.
    if (this.engines.length === 1) return;
    await this.probeAll();
    this.timer = setInterval(() => void this.probeAll(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  probeAll(): Promise<void> {
    this.probing ??= Promise.all(this.engines.map((e) => this.probe(e)))
      .then(() => undefined)
      .finally(() => (this.probing = undefined));
    return this.probing;
  }

  private async probe(engine: Engine): Promise<void> {
    const s = this.state(engine);
    const result = await probeEngine(engine);
    if (result.answers) {
      this.failures.set(engine, 0);
      s.version = result.version;
      s.problem = undefined;
      s.memTotalBytes = result.memTotalBytes;
      if (!s.answers) this.changeTo(engine, true);
      return;
    }
    s.problem = result.message;
    const failures = (this.failures.get(engine) ?? 0) + 1;
    this.failures.set(engine, failures);
    // An engine that never answered is down at once: no session is sent to it in the meantime.
    const neverAnswered = s.version === undefined;
    if (s.answers && (neverAnswered || failures >= FAILURES_FOR_DOWN)) this.changeTo(engine, false);
  }

  private changeTo(engine: Engine, answers: boolean): void {
    const s = this.state(engine);
    s.answers = answers;
    s.since = Date.now();
    if (answers) this.log.warn({ engine: engine.name }, "engine answers again");
    else this.log.error({ engine: engine.name, err: s.problem }, "engine stopped answering");
    for (const listener of this.listeners) listener(engine, answers);
  }
}

/** This host's MemAvailable (/proc/meminfo), or undefined where there is none. */
async function hostMemAvailable(): Promise<number | undefined> {
  return parseMemAvailable(await readFile("/proc/meminfo", "utf8").catch(() => ""));
}
