/**
 * One student's sandbox as the server holds it: its engine and owner, its clocks, the objects
 * and connections the manager gives it (workstation, proxy, terminal, port forwards, disk quota,
 * log-flood guard, socket relays), its check container, its bounded history of Docker events
 * (for checks and the state panel), and how it describes itself to the API. Made, adopted and
 * ended by SessionManager (session-manager.ts).
 */
import type { Engine } from "../docker/engine.ts";
import type { SandboxProxy } from "../proxy/proxy-server.ts";
import type { StudentView } from "../proxy/rewrite.ts";
import type { TerminalSession } from "../terminal/terminal-session.ts";
import type { SessionScope } from "../naming/scope.ts";
import type { PortForwards } from "./port-forwards.ts";
import type { DiskQuota } from "./disk-quota.ts";
import type { LogFloodGuard } from "./log-flood.ts";
import { HISTORY_LIMITS, eventBytes, keptAttributes } from "./event-history.ts";
import type { SavedHistory } from "./history-file.ts";
import { WorkBudget } from "./work-budget.ts";

/** An event as the student's checks and state panel see it: student names, when it happened. */
export interface SessionEvent {
  type: string;
  action: string;
  id: string;
  name: string | undefined;
  attributes: Record<string, string>;
  time: number;
}

/** What a student on an engine that stopped answering is told (terminal, API, state stream). */
export const ENGINE_LOST =
  'the Docker engine running your sandbox stopped answering. Your progress is saved: press "Start again on another engine" (or "Reset my sandbox" with keep my files ticked) for a new sandbox with your files';
/** The same on a remote engine: the home was a volume there, gone with it (remote-home.ts). */
export const ENGINE_LOST_REMOTE =
  'the Docker engine running your sandbox stopped answering. Your progress is saved: press "Start again on another engine" (or "Reset my sandbox") for a new sandbox; your files were on that engine, so the new sandbox starts with an empty home unless it answers again first';

/** What a student whose engine stopped answering is told. */
export function engineLostMessage(engine: Engine): string {
  return engine.remote ? ENGINE_LOST_REMOTE : ENGINE_LOST;
}

export class Session {
  readonly id: string;
  /** The engine its workstation and every object it makes are on. */
  readonly engine: Engine;
  /** Its engine stopped answering: the student is told to start again elsewhere (ENGINE_LOST). */
  engineLost = false;
  /** The learner it belongs to; "" while it waits, ready, in the warm pool. */
  owner: string;
  readonly scope: SessionScope;
  readonly sessionDir: string;
  createdAt: number;
  expiresAt: number;
  lastActiveAt: number;
  workstationId: string | undefined;
  proxy: SandboxProxy | undefined;
  terminal: TerminalSession | undefined;
  ports: PortForwards | undefined;
  quota: DiskQuota | undefined;
  logFlood: LogFloodGuard | undefined;
  /** The address it was created for (the anonymous per-address cap); "" for a class member's. */
  client = "";
  /** When the student was last told their container start waits for the engine (at most once a minute). */
  queueNoticeAt = 0;
  /** The lastActiveAt its record on disk holds (session-record.ts): the sweep writes a newer one now and then. */
  persistedActiveAt = 0;
  /** When the terminal screen was last saved for a restarted server (SessionManager.saveScreen). */
  screenSavedAt = 0;
  savingScreen = false;
  readonly view: StudentView;
  /** On a remote engine, the socket relays into its workstation and check container (socket-relay.ts). */
  readonly relays = new Map<"workstation" | "checks", { close(): void }>();
  /** The session's Docker events, oldest first, in the student's names, slimmed and bounded (event-history.ts): for checks. */
  readonly history: SessionEvent[] = [];
  private readonly historySizes: number[] = [];
  /** What the history holds now, as eventBytes counts it. */
  historyBytes = 0;
  /** The engine time (ns) of the newest event in the history: a replay after a restart adds only newer ones. */
  lastEventNano = 0;
  /** When the history last changed, and when it was last saved for a restarted server (history-file.ts). */
  historyChangedAt = 0;
  historySavedAt = 0;
  private readonly listeners = new Set<(event: SessionEvent) => void>();

  constructor(
    id: string,
    owner: string,
    scope: SessionScope,
    sessionDir: string,
    lifetimeSeconds: number,
    view: StudentView,
    engine: Engine,
  ) {
    this.id = id;
    this.engine = engine;
    this.owner = owner;
    this.scope = scope;
    this.sessionDir = sessionDir;
    this.createdAt = Date.now();
    this.lastActiveAt = this.createdAt;
    this.expiresAt = this.createdAt + lifetimeSeconds * 1000;
    this.view = view;
  }

  touch(): void {
    this.lastActiveAt = Date.now();
  }

  /** A pooled session is handed to a learner: its clocks start now. */
  assign(owner: string, lifetimeSeconds: number): void {
    this.owner = owner;
    this.createdAt = Date.now();
    this.lastActiveAt = this.createdAt;
    this.expiresAt = this.createdAt + lifetimeSeconds * 1000;
  }

  /** Makes the session's check container (sessions/check-container.ts); set when the session is made. */
  makeCheckContainer: (() => Promise<string>) | undefined;
  private checkContainerId: Promise<string> | undefined;

  /** The session ends: no timer of its own outlives it. */
  stopTimers(): void {}

  /**
   * The container checks run in. Made with the session, right after its workstation, and kept for
   * the session's life (some 10 MB of the engine's memory: shim, init, sleep): a Check then never
   * waits for a container start, which queues behind the whole class's `docker run`s. Made again
   * here only when it is gone (an engine restart, an admin's `docker rm`).
   */
  checkContainer(): Promise<string> {
    if (this.checksClosed) return Promise.reject(new Error("the session is ending"));
    if (!this.makeCheckContainer)
      return Promise.reject(new Error("the session has no check container"));
    this.checkContainerId ??= this.makeCheckContainer()
      .then((id) => (this.currentCheckContainer = id))
      .catch((error: unknown) => {
        this.checkContainerId = undefined;
        throw error;
      });
    return this.checkContainerId;
  }

  private checksClosed = false;
  /** The session ends: no new check container, and one being made is waited for, so the removal lists it. */
  async closeCheckContainer(): Promise<void> {
    this.checksClosed = true;
    await this.checkContainerId?.catch(() => undefined);
  }

  /** A restarted server found the session's check container still running: it is used, not made again. */
  adoptCheckContainer(id: string): void {
    this.currentCheckContainer = id;
    this.checkContainerId = Promise.resolve(id);
  }

  /** The id the current check container has once made (to tell a stale failure from a fresh one). */
  private currentCheckContainer: string | undefined;

  forgetCheckContainer(failedId?: string): void {
    // Several checks of one run fail on the same dead container at once: only the first makes a new one.
    if (failedId !== undefined && this.currentCheckContainer !== failedId) return;
    this.checkContainerId = undefined;
    this.currentCheckContainer = undefined;
  }

  /** Checks running now: what they do in the sandbox is not the student's work. */
  checksRunning = 0;
  /**
   * Check runs of this session (each runs every task of an exercise, side by side): two at once
   * (a lesson page checks its exercises one at a time; two tabs), four more waiting, the rest
   * refused. 60 concurrent check loops from one session had no bound.
   */
  readonly checkRuns = new WorkBudget(2, 4);
  /** File listings, downloads and uploads of the home (each an exec in the workstation): 4 at once, 8 waiting. */
  readonly fileOps = new WorkBudget(4, 8);
  /** An exercise's setup.sh (up to 3 minutes of docker commands): one at a time, one waiting. */
  readonly setups = new WorkBudget(1, 1);
  /** State streams (SSE) this session has open now: at most MAX_STATE_STREAMS (api/state-stream.ts). */
  stateStreams = 0;

  /** Runs checks with the state stream quiet, then lets it look once more. */
  async whileChecking<T>(run: () => Promise<T>): Promise<T> {
    this.checksRunning++;
    try {
      return await run();
    } finally {
      this.checksRunning--;
      if (this.checksRunning === 0) {
        for (const listener of this.quietListeners) listener();
      }
    }
  }

  private readonly quietListeners = new Set<() => void>();
  onChecksDone(listener: () => void): () => void {
    this.quietListeners.add(listener);
    return () => this.quietListeners.delete(listener);
  }

  onEvent(listener: (event: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  record(event: SessionEvent, nano = event.time * 1e6): void {
    const kept: SessionEvent = {
      ...event,
      name: event.name?.slice(0, HISTORY_LIMITS.attributeChars),
      attributes: keptAttributes(event.attributes),
    };
    this.keep(kept);
    if (nano > this.lastEventNano) this.lastEventNano = nano;
    this.historyChangedAt = Date.now();
    for (const listener of this.listeners) listener(kept);
  }

  /** A previous run's history (history-file.ts), before any new event: kept as it was saved, bounded again. */
  restoreHistory(saved: SavedHistory): void {
    for (const event of saved.events) this.keep({ ...event, name: event.name });
    this.lastEventNano = Math.max(this.lastEventNano, saved.lastEventNano);
    this.historySavedAt = this.historyChangedAt = Date.now();
  }

  private keep(kept: SessionEvent): void {
    const size = eventBytes(kept);
    this.history.push(kept);
    this.historySizes.push(size);
    this.historyBytes += size;
    let drop = 0;
    while (
      drop < this.history.length &&
      (this.history.length - drop > HISTORY_LIMITS.events ||
        this.historyBytes > HISTORY_LIMITS.bytes)
    )
      this.historyBytes -= this.historySizes[drop++]!;
    if (drop > 0) {
      this.history.splice(0, drop);
      this.historySizes.splice(0, drop);
    }
  }

  describe(): Record<string, unknown> {
    if (this.engineLost)
      return {
        id: this.id,
        state: "engine-lost",
        message: engineLostMessage(this.engine),
        restart: {
          method: "POST",
          path: `/api/sessions/${this.id}/reset`,
          body: { keepHome: true },
        },
        createdAt: new Date(this.createdAt).toISOString(),
        expiresAt: new Date(this.expiresAt).toISOString(),
        lastActiveAt: new Date(this.lastActiveAt).toISOString(),
      };
    return {
      id: this.id,
      state: "ready",
      createdAt: new Date(this.createdAt).toISOString(),
      expiresAt: new Date(this.expiresAt).toISOString(),
      lastActiveAt: new Date(this.lastActiveAt).toISOString(),
    };
  }
}
