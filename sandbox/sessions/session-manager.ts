/**
 * Sessions: one student's sandbox on the shared engine. A session is a private internal network
 * (no route out), a workspace folder (the student's home), a Docker API proxy socket, and the
 * workstation container where the student's shell runs. Ending a session removes all of it and
 * everything the student made. A restart keeps sessions: stopping with `keepSessions` lets them
 * go untouched, and starting adopts the live ones a previous run left (by their labels and their
 * record, session-record.ts) and removes the rest (docs/decisions/restarts-keep-sandboxes.md).
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, chmod, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect } from "node:net";
import { Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type Docker from "dockerode";
import type { Engine } from "../docker/engine.ts";
import { EngineFleet } from "../docker/engine-fleet.ts";
import { EventHub, type EngineEvent } from "../docker/event-hub.ts";
import type { Logger } from "../log.ts";
import type { Config } from "../config.ts";
import { SandboxProxy } from "../proxy/proxy-server.ts";
import { StudentView } from "../proxy/rewrite.ts";
import { TerminalSession } from "../terminal/terminal-session.ts";
import { PortForwards } from "./port-forwards.ts";
import { parsePorts } from "../naming/published-ports.ts";
import { removeInstanceImages, removeSessionImages } from "../proxy/own-images.ts"; // [builds hook]
import {
  LABEL_ANON_VOLUMES,
  LABEL_AUTOREMOVE,
  LABEL_INSTANCE,
  LABEL_OWNER,
  LABEL_PORTS,
  LABEL_ROLE,
  LABEL_SESSION,
  PROXY_SOCKET_DIR_IN_WORKSTATION,
  STUDENT_HOME,
  SessionScope,
  bridgeName,
  sessionIdOfName,
} from "../naming/scope.ts";
import { hostUidOffset } from "../docker/id-offset.ts";
import { HostHelper } from "../docker/host-helper.ts";
import { keepSocketRelay } from "./socket-relay.ts";
import { createSessionFolder, createWorkspace, removeWorkspace } from "./workspace.ts";
import {
  HomeNotKept,
  createHomeVolume,
  remoteWorkstationMounts,
  restoreHomeArchive,
  saveHomeArchive,
} from "./remote-home.ts";
import { ensureHomeMounts, unmountBelow } from "./bind-view.ts";
import {
  SCREEN_FILE,
  SESSION_RECORD_FILE,
  readSessionRecord,
  writeSessionRecord,
  type SessionRecord,
} from "./session-record.ts";
import { runInWorkstation } from "./workstation-exec.ts";
import { closeHostToSandboxes } from "./host-firewall.ts";
import { SubnetPool } from "./subnets.ts";
import { startDiskQuota } from "./disk-quota.ts";
import { startLogFloodGuard } from "./log-flood.ts";
import { keptAttributes } from "./event-history.ts";
import { readHistoryFile, writeHistoryFile } from "./history-file.ts";
import { Session, engineLostMessage } from "./session.ts";
import { CHECK_CONTAINER_ROLE, createCheckContainer } from "./check-container.ts";
import { WORKSTATION_IMAGE } from "../images/catalog.ts";
import { copyCourseImages } from "../images/build.ts";
import { publicLearnerId } from "../progress/store.ts";
import { LIMITS } from "../proxy/limits.ts";
import {
  createSessionCgroup,
  engineCgroupHost,
  removeInstanceCgroups,
  removeSessionCgroup,
  sessionCgroupPath,
  type CgroupHost,
} from "./session-cgroup.ts";

/** The engine a session was being made on stopped answering meanwhile (createSession). */
class EngineStoppedAnswering extends Error {
  constructor(engine: Engine) {
    super(`the engine ${engine.name} stopped answering while a session was made there`);
  }
}

/** What the student is told when the engine stopped answering while their sandbox started there. */
function engineStoppedWhileStarting(): SessionBusyError {
  return new SessionBusyError(
    "the Docker engine chosen for your sandbox stopped answering while it started; try again in a few seconds (another engine takes it)",
    5,
    503,
  );
}

export class SessionBusyError extends Error {
  readonly retryAfterSeconds: number;
  readonly status: number;
  constructor(message: string, retryAfterSeconds: number, status: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
    this.status = status;
  }
}

/**
 * The workstation's own limits: the student's shell, not their containers. The pids limit must
 * bind before the memory limit: a waiting docker CLI holds ~7.5 MB and ~5.3 threads (measured
 * 2026-12-02), so 40 parallel `docker create`s filled the old 192 MiB and the shell thrashed at
 * its limit for minutes (the CLIs' code pages evicted and read back, never quite out of memory)
 * instead of failing; 256 pids (~48 CLIs, ~360 MB) plus the 64 MiB /tmp fit in 512 MiB.
 */
const WORKSTATION_LIMITS = { memoryBytes: 512 * 1024 * 1024, pids: 256, nanoCpus: 1_000_000_000 };
/**
 * A learner's sandbox is replaced at most this often (a reset loop, or `kill 1` in the
 * workstation again and again): a later request waits its turn instead of another full start.
 */
const REPLACE_INTERVAL_MS = 5000;
/** A terminal with new output has its screen saved this often at most (what a `kill -9` can lose of it). */
const SCREEN_SAVE_MS = 5000;
/**
 * How long a session's ending, or the server's stop, waits on an engine that stops answering
 * (it is marked down after two missed probes, about 6 s; from then on nothing waits on it).
 */
const ENGINE_CLEANUP_DEADLINE_MS = 20_000;

/**
 * Whether `work` finished within ENGINE_CLEANUP_DEADLINE_MS (an engine that hangs would hold it);
 * its failure, when it fails in time, is the caller's.
 */
async function finishedInTime(work: Promise<unknown>): Promise<boolean> {
  return Promise.race([
    work.then(() => true),
    delay(ENGINE_CLEANUP_DEADLINE_MS, false, { ref: false }),
  ]);
}

/** What the server knows of one engine: its setup, its events, its subnets and its warm sessions. */
interface EngineSide {
  engine: Engine;
  uidOffset: number;
  engineRootDir: string | undefined;
  /** Where per-session cgroups are made; undefined when the engine does not allow them. */
  cgroups: CgroupHost | undefined;
  /** A remote engine's: does on its host what the server does on this one (docker/host-helper.ts). */
  helper: HostHelper | undefined;
  events: EventHub;
  subnets: SubnetPool;
  /** Ready sessions nobody owns yet on this engine: a new learner placed here gets one at once. */
  pool: Session[];
  refilling: Promise<void> | undefined;
  unsubscribe: (() => void) | undefined;
}

export interface SessionManagerOptions {
  /** The default engine (DOCKER_HOST's). */
  engine: Engine;
  /** Every engine sessions may go to, the default first; default: the one engine. */
  fleet?: EngineFleet;
  config: Config;
  log: Logger;
  /** The platform database's copy of who owns which session (progress/session-owners.ts), kept in step. */
  owners?: {
    record(session: string, learnerId: string): Promise<void>;
    forget(session: string): Promise<void>;
  };
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly creating = new Map<string, Promise<Session>>();
  private readonly destroying = new Map<string, Promise<void>>();
  /** Learners whose sandbox is being replaced (reset, or a workstation that vanished), by owner. */
  private readonly replacing = new Map<string, Promise<Session>>();
  /** A replaced session's home, by owner, until it is in the learner's next sandbox (a failed rebuild keeps it for the next try). */
  private readonly keptHomes = new Map<string, string>();
  /** Learners whose reset could not keep their files (a remote engine that did not answer): why. */
  private readonly homesNotKept = new Map<string, string>();
  /** When each learner's sandbox was last replaced (REPLACE_INTERVAL_MS). */
  private readonly lastReplaced = new Map<string, number>();
  private stopped = false;
  private readonly createLog = new Map<string, number[]>();
  /** The default engine. */
  private readonly engine: Engine;
  readonly fleet: EngineFleet;
  private readonly sides = new Map<Engine, EngineSide>();
  private readonly config: Config;
  private readonly log: Logger;
  private readonly owners: SessionManagerOptions["owners"];
  private sweepTimer: NodeJS.Timeout | undefined;
  private unwatchFleet: (() => void) | undefined;

  constructor(options: SessionManagerOptions) {
    this.owners = options.owners;
    this.engine = options.engine;
    this.config = options.config;
    this.log = options.log;
    this.fleet = options.fleet ?? new EngineFleet([options.engine], options.log);
    for (const engine of this.fleet.engines) {
      const helper = engine.remote
        ? new HostHelper(engine, this.config.instance, this.log)
        : undefined;
      if (helper) this.fleet.useHostHelper(engine, helper);
      this.sides.set(engine, {
        engine,
        uidOffset: 0,
        engineRootDir: undefined,
        cgroups: undefined,
        helper,
        events: new EventHub(engine, this.log),
        subnets: new SubnetPool(
          engine === this.fleet.default ? this.config.sessionSubnets : engine.address.subnets,
        ),
        pool: [],
        refilling: undefined,
        unsubscribe: undefined,
      });
    }
  }

  private side(engine: Engine): EngineSide {
    return this.sides.get(engine)!;
  }

  /** A remote engine's host helper (docker/host-helper.ts); undefined for an engine of this host. */
  hostHelper(engine: Engine): HostHelper | undefined {
    return this.sides.get(engine)?.helper;
  }

  /** The default engine's events (tests stop and start them). */
  get events(): EventHub {
    return this.side(this.engine).events;
  }

  /** The default engine's sandbox subnets. */
  get subnets(): SubnetPool {
    return this.side(this.engine).subnets;
  }

  /** The default engine's client; a session's own engine is `session.engine`. */
  get docker() {
    return this.engine.docker;
  }

  /** Sessions on `engine` now, made or being made (pooled ones included). */
  liveOn(engine: Engine): number {
    let live = 0;
    for (const session of this.sessions.values()) if (session.engine === engine) live++;
    return live;
  }

  /** Learners' sessions on `engine` now (the warm pool not counted). */
  ownedOn(engine: Engine): number {
    let owned = 0;
    for (const session of this.sessions.values())
      if (session.engine === engine && session.owner) owned++;
    return owned;
  }

  /** The engine a new session goes to (docker/engine-fleet.ts), or a 503 when none can take it. */
  private async placeSession(): Promise<Engine> {
    const engine = await this.fleet.place(
      (e) => this.liveOn(e) - this.side(e).pool.length, // a warm session is room, not load
      this.config.sessionMemoryMb * 1024 * 1024,
    );
    if (!engine)
      throw new SessionBusyError(
        "the Docker engine is not answering, so no sandbox can start right now; try again in a minute",
        60,
        503,
      );
    return engine;
  }

  get sessionsDir(): string {
    return join(this.config.dataDir, "sessions");
  }

  /** Sessions that belong to learners (the warm pool is not counted). */
  get count(): number {
    let owned = 0;
    for (const session of this.sessions.values()) if (session.owner) owned++;
    return owned;
  }

  get pooled(): number {
    let pooled = 0;
    for (const side of this.sides.values()) pooled += side.pool.length;
    return pooled;
  }

  /** Warm sessions on one engine. */
  pooledOn(engine: Engine): number {
    return this.side(engine).pool.length;
  }

  /** The warm sessions on one engine, next to be taken first. */
  warmOn(engine: Engine): readonly Session[] {
    return this.side(engine).pool;
  }

  /** Reads the engine's setup, adopts a previous run's live sessions and removes the rest, starts the clocks. */
  async start(): Promise<void> {
    await mkdir(this.sessionsDir, { recursive: true, mode: 0o700 });
    await chmod(this.sessionsDir, 0o700);
    await Promise.all([...this.sides.values()].map((side) => this.startSide(side)));
    // This host's firewall only when an engine is here (a remote one's host: prepareSide).
    if ([...this.sides.values()].some((side) => !side.helper)) await closeHostToSandboxes(this.log);
    for (const side of this.sides.values()) {
      side.unsubscribe = side.events.subscribe((event, replayed) =>
        this.route(event, side.engine, replayed),
      );
      // What the engine still holds from before: since the oldest newest event of an adopted session.
      const adopted = [...this.sessions.values()].filter(
        (session) => session.engine === side.engine && session.lastEventNano > 0,
      );
      const since = adopted.length
        ? Math.min(...adopted.map((session) => session.lastEventNano))
        : undefined;
      await side.events.start({ since });
    }
    for (const work of this.afterStart.splice(0)) work();
    await this.fleet.start();
    this.unwatchFleet = this.fleet.onChange((engine, answers) =>
      answers ? this.engineBack(engine) : this.engineLost(engine),
    );
    this.sweepTimer = setInterval(() => void this.sweep(), 5000);
    this.sweepTimer.unref();
    void this.refill();
  }

  /** Reads one engine's setup and adopts a previous run's sessions there (or retries until it answers). */
  private async startSide(side: EngineSide): Promise<void> {
    try {
      await this.prepareSide(side);
    } catch (error) {
      this.log.warn(
        { engine: side.engine.name, err: (error as Error).message },
        "engine not answering at start; a previous run's sessions there are adopted once it answers",
      );
      this.retryPreparingSide(side);
    }
  }

  /** Reads the engine's setup, adopts a previous run's live sessions there and removes the rest. */
  private async prepareSide(side: EngineSide): Promise<void> {
    const info = (await side.engine.docker.info()) as {
      SecurityOptions?: string[];
      DockerRootDir?: string;
    };
    side.uidOffset = await hostUidOffset(
      (info.SecurityOptions ?? []).some((o) => o.includes("userns")),
    );
    side.engineRootDir = info.DockerRootDir;
    // A remote engine's host helper runs a course image (stowage/host-tools): copied there first.
    if (side.helper) await this.copyImagesTo(side.engine);
    const cgroups = await engineCgroupHost(
      side.engine,
      info as { CgroupDriver?: string; CgroupVersion?: string },
      side.helper,
    );
    side.cgroups = cgroups.host;
    if (!side.cgroups)
      this.log.warn(
        { engine: side.engine.name, why: cgroups.problem },
        "no session cgroup on this engine (the systemd cgroup driver, or a remote host the helper cannot write): each container is capped, but no session is bounded as a whole",
      );
    if (side.helper) await closeHostToSandboxes(this.log, side.helper);
    await this.adoptOrRemove(side);
    if (!side.helper) await this.copyImagesTo(side.engine);
  }

  /**
   * The engine did not answer at start (a host restarting, the server up before dockerd): its
   * setup is read and the previous run's sessions there adopted as soon as it answers, the
   * server running meanwhile (new sandboxes wait for, or avoid, the engine as they always do).
   */
  private retryPreparingSide(side: EngineSide): void {
    setTimeout(() => {
      if (this.stopped) return;
      this.prepareSide(side).then(
        () => {
          this.log.info(
            { engine: side.engine.name },
            "the engine answers: the previous run's sessions there were taken back",
          );
          for (const work of this.afterStart.splice(0)) work();
        },
        () => this.retryPreparingSide(side),
      );
    }, 3000).unref();
  }

  /**
   * An engine stopped answering (docker/engine-fleet.ts): its students are told, in the
   * terminal and in their session's state, to start again elsewhere (the reset keeps their home,
   * which is on this server's host); its warm sessions are dropped. Nobody else is touched.
   */
  private engineLost(engine: Engine): void {
    // One engine: nowhere else to go; the terminal says the engine is not answering (ENGINE_GONE) as before.
    if (this.fleet.engines.length === 1) return;
    const side = this.side(engine);
    for (const pooled of side.pool.splice(0))
      void this.destroy(pooled.id, "its engine stopped answering");
    for (const session of this.sessions.values()) {
      if (session.engine !== engine || !session.owner || this.destroying.has(session.id)) continue;
      session.engineLost = true;
      session.terminal?.notice(engineLostMessage(engine));
    }
    void this.refill(); // the pools of the other engines stay as they were
  }

  /**
   * An operator drains an engine (api/engine-routes.ts): no new session goes there and its warm
   * ones are let go; learners' sessions on it go on until they end (idle, lifetime, reset).
   */
  setDraining(engine: Engine, draining: boolean): void {
    this.fleet.setDraining(engine, draining);
    if (draining)
      for (const pooled of this.side(engine).pool.splice(0))
        void this.destroy(pooled.id, "its engine is draining");
    void this.refill();
  }

  /**
   * The engine answers again: sessions still there go on (a stopped workstation is started on
   * connect); what sessions that ended meanwhile left there (a student who started again
   * elsewhere) is removed now, by its labels.
   */
  private engineBack(engine: Engine): void {
    void this.copyImagesTo(engine).catch((err: Error) =>
      this.log.error({ engine: engine.name, err: err.message }, "course images not copied"),
    );
    void this.removeEndedSessionsObjects(engine).catch((err: Error) =>
      this.log.warn({ engine: engine.name, err: err.message }, "leftovers not removed"),
    );
    for (const session of this.sessions.values()) {
      if (session.engine !== engine || !session.engineLost) continue;
      session.engineLost = false;
      session.terminal?.notice(
        "the Docker engine running your sandbox answers again; containers that were running may have stopped",
      );
    }
    void this.refill();
  }

  /**
   * Keeps `poolSize` ready sessions, making one at a time in the background so the pool never
   * competes with students for the engine more than one session's start at once.
   */
  refill(): Promise<void> {
    return Promise.all(
      [...this.sides.values()]
        .filter((side) => this.fleet.usable(side.engine))
        .map((side) => this.refillOn(side)),
    ).then(() => undefined);
  }

  /** Each engine that takes sessions keeps its own `poolSize` warm ones. */
  private refillOn(side: EngineSide): Promise<void> {
    side.refilling ??= (async () => {
      try {
        while (
          !this.stopped &&
          this.fleet.usable(side.engine) &&
          side.pool.length < this.config.poolSize &&
          this.sessions.size + this.creating.size < this.config.maxSessions
        ) {
          const session = await this.createSession("", side.engine);
          await session.terminal!.ensureShell(); // the prompt is drawn before anyone asks
          if (this.stopped) return;
          side.pool.push(session);
        }
      } catch (error) {
        this.log.warn(
          { engine: side.engine.name, err: (error as Error).message },
          "warm pool refill failed; will retry",
        );
        setTimeout(() => void this.refillOn(side), 5000).unref();
      } finally {
        side.refilling = undefined;
      }
    })();
    return side.refilling;
  }

  /**
   * Stops the manager. By default every session ends (tests, `STOWAGE_STOP_ENDS_SESSIONS`); with
   * `keepSessions` (a restart: SIGTERM, SIGINT) they stay on the engine for the next start to adopt.
   */
  async stop(options: { keepSessions?: boolean } = {}): Promise<void> {
    this.stopped = true;
    // Work in flight on an engine that hangs is not waited for past the deadline.
    const waitFor = async (work: Promise<unknown>, what: string) => {
      if (!(await finishedInTime(work)))
        this.log.warn(
          { deadlineMs: ENGINE_CLEANUP_DEADLINE_MS },
          `stopping without waiting longer for ${what} (an engine does not answer)`,
        );
    };
    await waitFor(
      Promise.all([...this.sides.values()].map((side) => side.refilling)),
      "warm sessions being made",
    );
    clearInterval(this.sweepTimer);
    this.unwatchFleet?.();
    this.fleet.stop();
    for (const side of this.sides.values()) {
      side.unsubscribe?.();
      side.events.stop();
    }
    // Creations and resets in flight finish first, so the sessions they make are ended too
    // (a reset racing the stop left its new workstation on the engine).
    await waitFor(
      Promise.allSettled([...this.creating.values(), ...this.replacing.values()]),
      "sessions being made or reset",
    );
    // Only engines that answer are asked to tidy up (a crash leaves the rest for the next start).
    const answering = [...this.sides.values()].filter(
      (side) => this.fleet.state(side.engine).answers,
    );
    if (options.keepSessions) {
      await Promise.all([...this.sessions.values()].map((session) => this.letGo(session)));
      // The next start makes the host helpers again when needed.
      await waitFor(this.removeHostHelpers(answering), "host helpers to be removed");
      return;
    }
    await Promise.all([...this.sessions.keys()].map((id) => this.destroy(id, "server stopping")));
    const tidy = async () => {
      for (const side of answering)
        if (side.cgroups)
          await removeInstanceCgroups(side.cgroups, this.config.instance).catch(() => undefined);
      await this.removeHostHelpers(answering);
    };
    await waitFor(tidy(), "session cgroups and host helpers to be removed");
  }

  /** The remote engines' host helpers go with a clean stop (a crash leaves one for the next start's cleanup). */
  private async removeHostHelpers(sides: EngineSide[]): Promise<void> {
    await Promise.all(
      sides.map((side) =>
        side.helper
          ?.remove()
          .catch((err: Error) =>
            this.log.warn(
              { engine: side.engine.name, err: err.message },
              "host helper not removed",
            ),
          ),
      ),
    );
  }

  /**
   * The server stops but the session stays on the engine for the next start to adopt: its
   * record and terminal screen are saved, the server's side (shell stream, proxy socket,
   * guards) is closed. Nothing on the engine, in the home or in the cgroup is touched.
   */
  private async letGo(session: Session): Promise<void> {
    if (this.destroying.has(session.id)) return this.destroying.get(session.id);
    session.quota?.stop();
    session.logFlood?.stop();
    await this.persist(session);
    await this.saveScreen(session);
    await this.saveHistory(session);
    session.terminal?.dispose(1012, "the course server is restarting");
    for (const relay of session.relays.values()) relay.close();
    await session.proxy?.close().catch(() => undefined);
    this.sessions.delete(session.id);
    this.log.info({ session: session.id }, "session kept for the next start");
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /** The caller's session if it has one, and only then: ownership is checked here. */
  owned(id: string, owner: string): Session | undefined {
    const session = this.sessions.get(id);
    return session && session.owner === owner && !this.destroying.has(id) ? session : undefined;
  }

  forOwner(owner: string): Session | undefined {
    if (!owner) return undefined;
    return [...this.sessions.values()].find((s) => s.owner === owner && !this.destroying.has(s.id));
  }

  /** The session of the learner with this public id (progress/store.ts publicLearnerId): for views that never hold the cookie. */
  forPublicId(publicId: string): Session | undefined {
    if (!publicId) return undefined;
    return [...this.sessions.values()].find(
      (s) => s.owner && publicLearnerId(s.owner) === publicId && !this.destroying.has(s.id),
    );
  }

  /**
   * A ready session nobody owns, outside the general pool: a class's warm pool holds it
   * (classes/class-pool.ts) until a member of the class takes it through `create`.
   */
  async createWarm(): Promise<Session> {
    if (this.stopped) throw new SessionBusyError("the server is stopping", 30, 503);
    if (this.sessions.size + this.creating.size >= this.config.maxSessions)
      throw new SessionBusyError(`all ${this.config.maxSessions} sandboxes are in use`, 30, 503);
    const session = await this.createSession("", await this.placeSession());
    await session.terminal!.ensureShell();
    return session;
  }

  /**
   * Creates a session for `owner`, or returns the one it has; caps and rate limits first. A class
   * member (`classPool` given) is bounded by the class's seats, not by the per-address limits, and
   * gets one of the class's warm sessions when one is ready.
   */
  async create(
    owner: string,
    client: string,
    classPool?: { take(): Session | undefined },
  ): Promise<{ session: Session; created: boolean }> {
    const replacing = this.replacing.get(owner);
    if (replacing) return { session: await replacing, created: false };
    const existing = this.forOwner(owner);
    if (existing) return { session: existing, created: false };
    const pending = this.creating.get(owner);
    if (pending) return { session: await pending, created: false };
    this.checkLimits(classPool ? undefined : client);
    // Registered before the first await: a second request of the same learner waits for this one.
    const promise = (async () => {
      const fromClass = classPool?.take();
      const engine = fromClass ? fromClass.engine : await this.placeSession();
      const ready = fromClass ?? (await this.readyFromPool(engine));
      if (!ready) {
        const session = Object.assign(await this.createSession(owner, engine), {
          client: classPool ? "" : client,
        });
        await this.restoreKeptHome(owner, session);
        await this.persist(session);
        return session;
      }
      ready.assign(owner, this.config.maxLifetimeSeconds);
      ready.client = classPool ? "" : client;
      void this.refill();
      await this.restoreKeptHome(owner, ready);
      await this.persist(ready);
      return ready;
    })();
    this.creating.set(owner, promise);
    try {
      const session = await promise;
      await this.recordOwner(session);
      return { session, created: true };
    } finally {
      this.creating.delete(owner);
    }
  }

  /**
   * A ready session from the pool whose workstation still runs. An engine restart stops every
   * container and the pool never hears of it (the event stream is down meanwhile): a dead one
   * is removed and the next tried, and the pool refills.
   */
  private async takeFromPool(engine: Engine): Promise<Session | undefined> {
    const pool = this.side(engine).pool;
    for (let ready = pool.shift(); ready; ready = pool.shift()) {
      const running = await engine.docker
        .getContainer(ready.workstationId!)
        .inspect()
        .then(
          (i) => i.State.Running === true,
          () => false,
        );
      if (running) return ready;
      this.log.warn(
        { session: ready.id },
        "pooled session's workstation is not running (engine restarted?); removing it",
      );
      void this.destroy(ready.id, "workstation stopped while pooled");
      void this.refill();
    }
    return undefined;
  }

  /** Starts a session's stopped workstation again (after an engine restart), through the start admission. */
  private async reviveWorkstation(session: Session): Promise<void> {
    if (!session.workstationId) throw new Error("the session has no workstation");
    this.log.warn({ session: session.id }, "workstation not running; starting it again");
    const container = session.engine.docker.getContainer(session.workstationId);
    await session.engine.starts.run(session.id, async () => {
      const state = (await container.inspect()).State;
      if (state.Paused) await container.unpause();
      else if (!state.Running) await container.start();
    });
    // A started-again workstation has a fresh tmpfs at /run/stowage: the relay is made again.
    if (session.engine.remote) await this.relaySocketInto(session, "workstation");
  }

  /** The server's cap for everyone; for an anonymous visitor (`client` given) the per-address limits too (docs/rate-limits.md). */
  private checkLimits(client: string | undefined): void {
    if (this.count + this.creating.size >= this.config.maxSessions) {
      throw new SessionBusyError(
        `busy, try again in 30 s: all ${this.config.maxSessions} sandboxes are in use`,
        30,
        503,
      );
    }
    if (client === undefined) return;
    let live = 0;
    for (const session of this.sessions.values())
      if (session.owner && session.client === client) live++;
    if (live >= this.config.anonymousPerAddress) {
      throw new SessionBusyError(
        `busy, try again in 60 s: ${live} sandboxes are already open from your address (a class should join with its class code)`,
        60,
        429,
      );
    }
    const now = Date.now();
    const recent = (this.createLog.get(client) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= this.config.createPerMinute) {
      const wait = Math.ceil((recent[0]! + 60_000 - now) / 1000);
      throw new SessionBusyError(
        `busy, try again in ${wait} s: too many new sandboxes from your address`,
        wait,
        429,
      );
    }
    recent.push(now);
    this.createLog.set(client, recent);
  }

  private async createSession(owner: string, engine: Engine): Promise<Session> {
    const side = this.side(engine);
    const id = randomBytes(6).toString("hex");
    const sessionDir = join(this.sessionsDir, id);
    const scope = new SessionScope(id, this.config.instance, sessionDir);
    const session = new Session(
      id,
      owner,
      scope,
      sessionDir,
      this.config.maxLifetimeSeconds,
      new StudentView(scope, side.engineRootDir),
      engine,
    );
    this.sessions.set(id, session);
    const started = Date.now();
    // An engine that stops answering while the session is made there (it hangs: no call fails)
    // must not hold the student: the making is given up when the fleet finds it down, and each
    // step that completes later (once it answers) stops there (see untilEngineAnswers).
    let abandoned: Error | undefined;
    const step = async <T>(work: Promise<T>): Promise<T> => {
      const value = await work;
      if (abandoned) throw abandoned;
      return value;
    };
    const making = this.makeSession(session, side, step, started);
    try {
      return await this.untilEngineAnswers(engine, making);
    } catch (error) {
      if (!(error instanceof EngineStoppedAnswering)) throw error;
      abandoned = error;
      this.log.error({ session: id, engine: engine.name }, error.message);
      await this.destroy(id, "its engine stopped answering while it was made");
      // What the step in flight makes once the engine answers goes when that step ends.
      void making.catch(() =>
        this.removeFromEngine(engine, id, undefined, undefined).catch(() => undefined),
      );
      throw engineStoppedWhileStarting();
    }
  }

  /** takeFromPool, given up (503, try again) when the engine stops answering meanwhile. */
  private async readyFromPool(engine: Engine): Promise<Session | undefined> {
    try {
      return await this.untilEngineAnswers(engine, this.takeFromPool(engine));
    } catch (error) {
      throw error instanceof EngineStoppedAnswering ? engineStoppedWhileStarting() : error;
    }
  }

  /** createSession's steps: the home, the cgroup, the network, the proxy, the workstation. */
  private async makeSession(
    session: Session,
    side: EngineSide,
    step: <T>(work: Promise<T>) => Promise<T>,
    started: number,
  ): Promise<Session> {
    const { id, scope, sessionDir, engine } = session;
    try {
      if (engine.remote) {
        // The home is a volume on the engine; this server keeps only session.json, the saved
        // screen and the proxy's socket (remote-home.ts).
        await step(createSessionFolder(sessionDir, scope));
        await step(createHomeVolume(engine, scope));
      } else await step(createWorkspace(sessionDir, scope, side.uidOffset));
      await step(this.placeInSessionCgroup(side, scope));
      await step(
        side.subnets.createNetwork(engine.docker, {
          Name: scope.networkName,
          Driver: "bridge",
          Internal: true,
          CheckDuplicate: true,
          Labels: scope.ownedLabels(),
          Options: { "com.docker.network.bridge.name": bridgeName(id) },
        }),
      );
      session.proxy = this.makeProxy(session);
      await step(session.proxy.listen());
      const workstation = await step(
        engine.docker.createContainer({
          name: scope.workstationName,
          Image: WORKSTATION_IMAGE,
          Hostname: "stowage",
          User: "1000:1000",
          WorkingDir: STUDENT_HOME,
          Env: [`HOME=${STUDENT_HOME}`, "TERM=xterm-256color", "LANG=C.UTF-8"],
          Cmd: ["sleep", "infinity"],
          Labels: { ...scope.infraLabels(), [LABEL_ROLE]: "workstation" },
          HostConfig: {
            ...(engine.remote
              ? { Mounts: remoteWorkstationMounts(scope).Mounts }
              : {
                  Binds: [
                    `${scope.workspaceDir}:${STUDENT_HOME}`,
                    `${scope.runDir}:${PROXY_SOCKET_DIR_IN_WORKSTATION}`,
                  ],
                }),
            NetworkMode: scope.networkName,
            Memory: WORKSTATION_LIMITS.memoryBytes,
            MemorySwap: WORKSTATION_LIMITS.memoryBytes,
            NanoCpus: WORKSTATION_LIMITS.nanoCpus,
            PidsLimit: WORKSTATION_LIMITS.pids,
            // Like the student's containers (proxy/limits.ts): the OOM killer's choice before the server.
            OomScoreAdj: LIMITS.oomScoreAdjFloor,
            ReadonlyRootfs: true,
            Tmpfs: {
              "/tmp": "rw,nosuid,nodev,size=64m",
              ...(engine.remote ? remoteWorkstationMounts(scope).Tmpfs : {}),
            },
            SecurityOpt: ["no-new-privileges"],
            CapDrop: ["ALL"],
            Init: true,
            // The student's forwarders for `-p` may listen on low ports like 80 (this netns only).
            Sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" },
            LogConfig: { Type: "json-file", Config: { "max-size": "1m", "max-file": "1" } },
          },
        }),
      );
      this.wireWorkstation(session, workstation.id);
      await step(engine.starts.run(id, () => workstation.start()));
      if (engine.remote) await step(this.relaySocketInto(session, "workstation"));
      // Not awaited: the student's prompt does not wait for it; a Check made before it is ready waits for it.
      void session
        .checkContainer()
        .catch((error: unknown) =>
          this.log.warn(
            { session: id, err: (error as Error).message },
            "check container could not start",
          ),
        );
      await this.persist(session);
      this.log.info(
        { session: id, engine: engine.name, ms: Date.now() - started },
        "session created",
      );
      return session;
    } catch (error) {
      this.log.error({ session: id, err: (error as Error).message }, "session creation failed");
      await this.destroy(id, "creation failed");
      throw error;
    }
  }

  /**
   * `work`, or an EngineStoppedAnswering as soon as the fleet finds `engine` down first (with one
   * engine there is no fleet to ask: its calls fail as they always did).
   */
  private untilEngineAnswers<T>(engine: Engine, work: Promise<T>): Promise<T> {
    if (this.fleet.engines.length === 1) return work;
    let unwatch: () => void = () => undefined;
    const lost = new Promise<never>((_, reject) => {
      unwatch = this.fleet.onChange((changed, answers) => {
        if (changed === engine && !answers) reject(new EngineStoppedAnswering(engine));
      });
    });
    return Promise.race([work, lost]).finally(() => unwatch());
  }

  /** Makes (or finds) the session's own cgroup and puts its containers under it, where the engine allows. */
  private async placeInSessionCgroup(side: EngineSide, scope: SessionScope): Promise<void> {
    if (!side.cgroups) return;
    const path = sessionCgroupPath(this.config.instance, scope.sessionId);
    await createSessionCgroup(side.cgroups, path, {
      memoryBytes: this.config.sessionMemoryMb * 1024 * 1024,
      nanoCpus: this.config.sessionCpus * 1e9,
      pids: this.config.sessionPids,
    });
    scope.cgroupParent = path;
  }

  /**
   * A remote engine's containers cannot mount this server's proxy socket: a relay
   * (socket-relay.ts) makes `/run/stowage/docker.sock` in the container and carries each of its
   * connections to the proxy's socket here; kept running (started again if its agent dies) until
   * the session ends or the container is replaced. The start waits until it listens (at most 20 s).
   */
  private async relaySocketInto(
    session: Session,
    role: "workstation" | "checks",
    containerId = session.workstationId,
  ): Promise<void> {
    if (!containerId) return;
    session.relays.get(role)?.close();
    const relay = keepSocketRelay({
      docker: session.engine.docker,
      workstationId: containerId,
      socketPathInWorkstation: `${PROXY_SOCKET_DIR_IN_WORKSTATION}/docker.sock`,
      connect: () => connect({ path: session.scope.proxySocketPath, allowHalfOpen: true }),
      log: this.log.child({ session: session.id, relay: role }),
    });
    session.relays.set(role, relay);
    const ready = await Promise.race([relay.ready, delay(20_000, false, { ref: false })]);
    if (!ready)
      this.log.warn(
        { session: session.id, role },
        "the socket relay is not listening yet; retrying",
      );
  }

  /** The session's Docker API proxy (listening once `listen()` is called): for a new session and an adopted one. */
  private makeProxy(session: Session): SandboxProxy {
    const engine = session.engine;
    return new SandboxProxy({
      scope: session.scope,
      engine,
      log: this.log,
      engineRootDir: this.side(engine).engineRootDir,
      workstationId: () => session.workstationId,
      onStartQueued: (waiting) => {
        if (Date.now() - session.queueNoticeAt < 60_000) return;
        session.queueNoticeAt = Date.now();
        session.terminal?.notice(
          `the engine is busy starting containers for this class (${waiting} waiting): yours starts when its turn comes; nothing to do`,
        );
      },
      onContainerStarted: async (containerId) => {
        const info = await engine.docker.getContainer(containerId).inspect();
        await session.ports?.start(containerId, parsePorts(info.Config.Labels?.[LABEL_PORTS]));
        await session.logFlood?.watch(containerId);
      },
    });
  }

  /** What the server holds for a session's workstation: its terminal, port forwards, check container and guards. */
  private wireWorkstation(session: Session, workstationId: string, screen?: string): void {
    const scope = session.scope;
    session.workstationId = workstationId;
    session.makeCheckContainer = async () => {
      const id = await createCheckContainer(session.engine, scope);
      if (session.engine.remote) await this.relaySocketInto(session, "checks", id);
      return id;
    };
    session.ports = new PortForwards(session.engine.docker, () => session.workstationId);
    session.terminal = new TerminalSession(session.engine.docker, workstationId, screen);
    session.terminal.onInput = () => session.touch();
    session.terminal.reviveWorkstation = () => this.reviveWorkstation(session);
    session.quota = startDiskQuota({
      docker: session.engine.docker,
      scope,
      remote: session.engine.remote ? { engine: session.engine } : undefined,
      limitBytes: this.config.diskQuotaMb * 1024 * 1024,
      onOver: (message) => session.terminal?.notice(message),
    });
    session.proxy!.archiveAllowance = session.quota; // docker cp is bounded by what the quota has left
    session.logFlood = startLogFloodGuard({
      docker: session.engine.docker,
      scope,
      onFlood: (message) => session.terminal?.notice(message),
    });
  }

  /**
   * Saves the session's event history into its folder (history-file.ts), for a restarted server's
   * checks: every sweep (5 s) while it changes, and at a stop; what a `kill -9` loses of the last
   * seconds, the adopting server's replay from the engine brings back.
   */
  private async saveHistory(session: Session): Promise<void> {
    const changedAt = session.historyChangedAt;
    session.historySavedAt = changedAt;
    await writeHistoryFile(session.sessionDir, {
      events: session.history,
      lastEventNano: session.lastEventNano,
    }).catch(() => {
      // The folder is gone (the session ended meanwhile) or the disk is full: the next sweep tries again.
      if (session.historySavedAt === changedAt) session.historySavedAt = 0;
    });
  }

  /**
   * Saves the terminal's mirrored screen into the session's folder, for a restarted server to
   * redraw: at a stop, and every SCREEN_SAVE_MS while output comes (so even a `kill -9` loses at
   * most that much of it). Written to a temporary name and renamed.
   */
  private async saveScreen(session: Session): Promise<void> {
    if (!session.terminal || session.savingScreen) return;
    session.savingScreen = true;
    session.screenSavedAt = Date.now();
    try {
      const screen = await session.terminal.snapshot();
      if (!screen || this.destroying.has(session.id)) return;
      const path = join(session.sessionDir, SCREEN_FILE);
      await writeFile(`${path}.tmp`, screen, { mode: 0o600 });
      await rename(`${path}.tmp`, path);
    } catch {
      // The folder is gone (the session ended meanwhile) or the disk is full: the next save tries again.
    } finally {
      session.savingScreen = false;
    }
  }

  /**
   * Writes the session's record (session-record.ts), which a restarted server adopts it by. A
   * failed write is logged, not thrown: the session works; only a restart would not keep it.
   */
  private async persist(session: Session): Promise<void> {
    if (this.destroying.has(session.id) || !this.sessions.has(session.id)) return;
    session.persistedActiveAt = session.lastActiveAt;
    await writeSessionRecord(session.sessionDir, {
      version: 1,
      id: session.id,
      owner: session.owner,
      client: session.client,
      createdAt: session.createdAt,
      expiresAt: session.expiresAt,
      lastActiveAt: session.lastActiveAt,
      workstationId: session.workstationId,
      engine: session.engine.name,
    }).catch((error: Error) =>
      this.log.warn(
        { session: session.id, err: error.message },
        "session record not written; a restart of the server would not keep this session",
      ),
    );
  }

  /** Ends a session: its shell, proxy, every object it made on the engine, its folders. */
  async destroy(id: string, reason: string, keepHomeAt?: string): Promise<void> {
    const running = this.destroying.get(id);
    if (running) return running;
    const session = this.sessions.get(id);
    const pool = session ? this.side(session.engine).pool : [];
    const pooledAt = session ? pool.indexOf(session) : -1;
    if (pooledAt >= 0) pool.splice(pooledAt, 1);
    const done = (async () => {
      // The record first: a server killed halfway through an ending never adopts the rest again.
      await rm(join(this.sessionsDir, id, SESSION_RECORD_FILE), { force: true });
      session?.stopTimers();
      session?.quota?.stop();
      session?.logFlood?.stop();
      session?.terminal?.dispose();
      for (const relay of session?.relays.values() ?? []) relay.close();
      await session?.proxy?.close().catch(() => undefined);
      const engine = session?.engine ?? this.engine;
      // The engine's part: skipped on an engine that does not answer, and bounded on one that
      // stops answering meanwhile (a hung host would hold a student's "Reset" or a server's stop
      // for minutes). What it leaves there is removed when the engine answers again (engineBack)
      // or at the next start (adoptOrRemove: the record is gone).
      if (this.fleet.state(engine).answers) {
        if (!(await finishedInTime(this.removeFromEngine(engine, id, session, keepHomeAt))))
          this.log.warn(
            { session: id, engine: engine.name, deadlineMs: ENGINE_CLEANUP_DEADLINE_MS },
            "the engine did not finish removing the session's objects in time; they are removed when it answers again",
          );
      } else {
        this.log.warn(
          { session: id, engine: engine.name },
          "the engine does not answer: the session's objects there are removed when it answers again",
        );
        if (keepHomeAt && session?.engine.remote && session.owner)
          this.homesNotKept.set(session.owner, "the engine holding them does not answer");
      }
      if (keepHomeAt && session && !session.engine.remote) {
        // The bind view first (a mount inside the home would otherwise move with it).
        await unmountBelow(session.sessionDir);
        await rename(session.scope.workspaceDir, keepHomeAt).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== "ENOENT") throw err; // gone already (another server's cleanup): nothing to keep
        });
      }
      await removeWorkspace(join(this.sessionsDir, id));
      // Listed until everything is gone, so the cap counts what the engine still holds.
      this.sessions.delete(id);
      if (session?.owner)
        await this.owners
          ?.forget(id)
          .catch((err: Error) =>
            this.log.warn(
              { session: id, err: err.message },
              "session owner not forgotten in the database",
            ),
          );
      if (session) this.log.info({ session: id, reason }, "session ended");
    })().finally(() => this.destroying.delete(id));
    this.destroying.set(id, done);
    return done;
  }

  /** A session's objects on its engine: its saved remote home first (a reset that keeps it), then containers, volumes, networks, images, cgroup. */
  private async removeFromEngine(
    engine: Engine,
    id: string,
    session: Session | undefined,
    keepHomeAt: string | undefined,
  ): Promise<void> {
    await session?.closeCheckContainer();
    if (keepHomeAt && session?.engine.remote) await this.saveRemoteHome(session, keepHomeAt);
    await this.removeEngineObjects(engine, { label: [`${LABEL_SESSION}=${id}`] });
    await removeSessionImages(engine, id); // [builds hook] the session's own images (own-images.ts)
    const cgroups = this.side(engine).cgroups;
    if (cgroups && session?.scope.cgroupParent)
      await removeSessionCgroup(cgroups, session.scope.cgroupParent).catch((err: Error) =>
        this.log.warn({ session: id, err: err.message }, "session cgroup not removed"),
      );
  }

  /**
   * A fresh sandbox for the session's learner (docs/api.md: reset): the old session's shell,
   * containers, volumes and network go, a new one takes its place (from the warm pool when
   * there is one), and with `keepHome` the old home folder's files move into the new home.
   * Progress belongs to the learner, not the session: it is untouched. The per-address limit
   * does not apply (the learner had a sandbox and still has one).
   */
  replace(id: string, options: { keepHome: boolean; reason: string }): Promise<Session> {
    const old = this.sessions.get(id);
    if (!old?.owner) return Promise.reject(new Error(`no session ${id} owned by a learner`));
    const owner = old.owner;
    const pending = this.replacing.get(owner);
    if (pending) return pending;
    const promise = (async () => {
      const wait = (this.lastReplaced.get(owner) ?? 0) + REPLACE_INTERVAL_MS - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const now = Date.now();
      for (const [learner, at] of this.lastReplaced)
        if (now - at > REPLACE_INTERVAL_MS) this.lastReplaced.delete(learner);
      this.lastReplaced.set(owner, now);
      const keptHome = options.keepHome ? join(this.sessionsDir, `kept-home-${id}`) : undefined;
      await this.dropKeptHome(owner);
      await this.destroy(id, options.reason, keptHome);
      if (keptHome) {
        // A remote engine's home was saved as a tar (saveRemoteHome); a local one renamed.
        const kept = old.engine.remote ? `${keptHome}.tar` : keptHome;
        if (
          await stat(kept).then(
            () => true,
            () => false,
          )
        )
          this.keptHomes.set(owner, kept);
      }
      // Placed anew: a session whose engine stopped answering starts again on another one.
      const engine = await this.placeSession();
      const ready = await this.readyFromPool(engine);
      let fresh: Session;
      if (ready) {
        ready.assign(owner, this.config.maxLifetimeSeconds);
        void this.refill();
        fresh = ready;
      } else fresh = await this.createSession(owner, engine);
      await this.restoreKeptHome(owner, fresh);
      await this.persist(fresh);
      this.log.info(
        {
          session: fresh.id,
          previous: id,
          engine: engine.name,
          keepHome: options.keepHome,
          reason: options.reason,
        },
        "session replaced",
      );
      await this.recordOwner(fresh);
      return fresh;
    })().finally(() => this.replacing.delete(owner));
    this.replacing.set(owner, promise);
    return promise;
  }

  /** The database's copy of the session's owner; a database that does not answer costs the copy, not the session. */
  private async recordOwner(session: Session): Promise<void> {
    await this.owners
      ?.record(session.id, session.owner)
      .catch((err: Error) =>
        this.log.warn(
          { session: session.id, err: err.message },
          "session owner not recorded in the database",
        ),
      );
  }

  /** Moves a kept home's entries into the owner's new home (same filesystem: owners and times stay). */
  private async restoreKeptHome(owner: string, session: Session): Promise<void> {
    const notKept = this.homesNotKept.get(owner);
    this.homesNotKept.delete(owner);
    if (notKept)
      session.terminal?.notice(
        `your files could not be kept: ${notKept}. Your progress is saved; this sandbox starts with an empty home`,
      );
    const from = this.keptHomes.get(owner);
    if (!from) return;
    if (from.endsWith(".tar") || session.engine.remote) {
      // Into a home on the engine (remote), or from one (a saved tar): the engine's archive endpoint.
      try {
        await restoreHomeArchive(
          session.engine,
          session.workstationId!,
          from.endsWith(".tar") ? { file: from } : { folder: from },
        );
      } catch (error) {
        // Kept for the next try, as a local home whose move failed.
        const message = (error as Error).message;
        this.log.warn({ session: session.id, err: message }, "kept home not restored");
        session.terminal?.notice(
          `your files could not be copied into the new sandbox (${message}). Your progress is saved`,
        );
        return;
      }
      this.keptHomes.delete(owner);
      await rm(from, { recursive: true, force: true });
      return;
    }
    const to = session.scope.workspaceDir;
    for (const entry of await readdir(from).catch(() => [] as string[])) {
      await rm(join(to, entry), { recursive: true, force: true });
      await moveEntry(join(from, entry), join(to, entry));
    }
    this.keptHomes.delete(owner);
    await rm(from, { recursive: true, force: true });
  }

  /**
   * Saves a remote engine's home before its session's objects go (the reset keeps it): a tar
   * through the engine's archive endpoint, bounded by the disk quota. When the engine does not
   * answer (lost), the files are gone with it: the next session says so.
   */
  private async saveRemoteHome(session: Session, keepHomeAt: string): Promise<void> {
    try {
      await saveHomeArchive(
        session.engine,
        session.scope,
        session.workstationId,
        `${keepHomeAt}.tar`,
        this.config.diskQuotaMb * 1024 * 1024,
      );
    } catch (error) {
      const reason =
        error instanceof HomeNotKept
          ? error.message
          : `the engine holding them did not answer (${(error as Error).message})`;
      this.log.warn({ session: session.id, err: reason }, "remote home not kept");
      if (session.owner) this.homesNotKept.set(session.owner, reason);
    }
  }

  private async dropKeptHome(owner: string): Promise<void> {
    const kept = this.keptHomes.get(owner);
    this.keptHomes.delete(owner);
    if (kept) await rm(kept, { recursive: true, force: true });
  }

  /**
   * The session's workstation is gone or stopped behind the server's back (an admin's `docker
   * rm`, a daemon restart, another server's cleanup): rebuild the sandbox keeping the home.
   * A pooled session nobody owns is simply dropped.
   */
  recover(id: string): Promise<Session | undefined> {
    const session = this.sessions.get(id);
    if (!session || this.destroying.has(id)) return Promise.resolve(undefined);
    if (!session.owner)
      return this.destroy(id, "workstation vanished")
        .then(() => void this.refill())
        .then(() => undefined);
    this.log.warn(
      { session: id },
      "the workstation vanished; rebuilding the sandbox with the home kept",
    );
    return this.replace(id, { keepHome: true, reason: "workstation vanished" });
  }

  /**
   * Removes every container, volume and network carrying the given label filter, except those
   * of the sessions in `keep` and the containers in `spare`.
   */
  private async removeEngineObjects(
    engine: Engine,
    filters: Record<string, string[]>,
    keep: { has(sessionId: string): boolean } = new Set<string>(),
    spare: ReadonlySet<string> = new Set<string>(),
  ): Promise<void> {
    const docker = engine.docker;
    const kept = (labels: Record<string, string> | null | undefined) =>
      keep.has(labels?.[LABEL_SESSION] ?? "");
    const containers = (await docker.listContainers({ all: true, filters }).catch(() => [])).filter(
      (c) => !kept(c.Labels) && !spare.has(c.Id),
    );
    await Promise.all(
      containers.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
    const volumes = (
      (await docker.listVolumes({ filters }).catch(() => ({ Volumes: [] }))).Volumes ?? []
    ).filter((v) => !kept(v.Labels));
    await Promise.all(
      volumes.map((v) =>
        docker
          .getVolume(v.Name)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    const networks = (await docker.listNetworks({ filters }).catch(() => [])).filter(
      (n) => !kept(n.Labels),
    );
    await Promise.all(
      networks.map((n) =>
        docker
          .getNetwork(n.Id)
          .remove()
          .catch(() => undefined),
      ),
    );
  }

  /**
   * An extra engine gets the course images the default one has (images/build.ts): a new engine,
   * or one whose images were rebuilt since, is brought up to date before sessions use it.
   */
  private async copyImagesTo(engine: Engine): Promise<void> {
    if (engine === this.engine) return;
    const started = Date.now();
    // Each image's copy is logged as it goes: a new engine's first copy takes minutes.
    const progress = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        for (const line of chunk.toString().split("\n"))
          if (line.trim()) this.log.info({ engine: engine.name }, line.trim());
        done();
      },
    });
    const copied = await copyCourseImages(
      { name: this.engine.name, docker: this.engine.docker },
      { name: engine.name, docker: engine.docker },
      progress,
    );
    if (copied)
      this.log.info(
        { engine: engine.name, copied, ms: Date.now() - started },
        "course images copied to the engine",
      );
  }

  /** This server's objects on `engine` whose session is no longer live there. */
  private async removeEndedSessionsObjects(engine: Engine): Promise<void> {
    const filters = { label: [`${LABEL_INSTANCE}=${this.config.instance}`] };
    const [containers, volumes, networks] = await Promise.all([
      engine.docker.listContainers({ all: true, filters }),
      engine.docker.listVolumes({ filters }).then((v) => v.Volumes ?? []),
      engine.docker.listNetworks({ filters }),
    ]);
    const ended = new Set<string>();
    for (const labels of [
      ...containers.map((c) => c.Labels),
      ...volumes.map((v) => v.Labels),
      ...networks.map((n) => n.Labels),
    ]) {
      const id = labels?.[LABEL_SESSION];
      if (id && this.sessions.get(id)?.engine !== engine) ended.add(id);
    }
    const cgroups = this.side(engine).cgroups;
    for (const id of ended) {
      await this.removeEngineObjects(engine, { label: [`${LABEL_SESSION}=${id}`] });
      await removeSessionImages(engine, id);
      // Its group too: the session ended while the engine was away (its ending skipped the engine).
      if (cgroups)
        await removeSessionCgroup(cgroups, sessionCgroupPath(this.config.instance, id)).catch(
          (err: Error) =>
            this.log.warn({ session: id, err: err.message }, "session cgroup not removed"),
        );
    }
  }

  /**
   * A previous run of this server (same instance name) stopped or died: every session its records
   * say is live and whose objects are still on the engine is adopted again (docs/decisions/
   * restarts-keep-sandboxes.md); what belongs to no such session is removed: sessions that
   * expired or went idle meanwhile, pooled ones beyond the pool's size, half-made ones (no
   * record), and whatever carries this instance's label but no live session's.
   */
  private async adoptOrRemove(side: EngineSide): Promise<void> {
    const engine = side.engine;
    const byInstance = { label: [`${LABEL_INSTANCE}=${this.config.instance}`] };
    const containers = await engine.docker.listContainers({ all: true, filters: byInstance });
    // Sessions this run already holds (an adoption retried once the engine answered) stay as they are.
    const folders = (await readdir(this.sessionsDir).catch(() => [] as string[])).filter(
      (f) => /^[a-f0-9]{12}$/.test(f) && !this.sessions.has(f),
    );
    const records = new Map<string, SessionRecord | undefined>();
    for (const id of folders) {
      const record = await readSessionRecord(join(this.sessionsDir, id));
      records.set(id, record?.id === id ? record : undefined);
    }
    // Each engine adopts the sessions its records name; the default engine also takes the
    // folders with no record, or naming an engine no longer configured (removed as ended).
    const known = new Set(this.fleet.engines.map((e) => e.name));
    const engineOf = (record: SessionRecord | undefined) =>
      record?.engine && known.has(record.engine) ? record.engine : this.engine.name;
    const mine = folders.filter((id) => engineOf(records.get(id)) === engine.name);
    const elsewhere = new Set(folders.filter((id) => !mine.includes(id)));
    const now = Date.now();
    const adopted = new Set<string>();
    const work = [...mine];
    // One sandbox per learner: should two records name the same one, the newer is kept.
    const newest = new Map<string, number>();
    for (const session of this.sessions.values())
      if (session.owner) newest.set(session.owner, session.createdAt);
    for (const record of records.values())
      if (record?.owner)
        newest.set(record.owner, Math.max(newest.get(record.owner) ?? 0, record.createdAt));
    const adoptNext = async (): Promise<void> => {
      for (let id = work.shift(); id !== undefined; id = work.shift()) {
        const record = records.get(id);
        const ended =
          record?.engine && !known.has(record.engine)
            ? `its engine ${record.engine} is no longer configured`
            : record?.owner && newest.get(record.owner) !== record.createdAt
              ? "the learner has a newer session"
              : this.endedWhileDown(record, now);
        if (!record || ended) {
          this.log.info(
            { session: id, reason: ended ?? "no record" },
            "previous run's session removed",
          );
          continue;
        }
        const ofSession = containers.filter((c) => c.Labels[LABEL_SESSION] === record.id);
        try {
          if (await this.adopt(record, ofSession, side)) adopted.add(id);
        } catch (error) {
          this.log.warn(
            { session: id, err: (error as Error).message },
            "previous run's session could not be adopted; removing it",
          );
        }
      }
    };
    // A few at a time: each is an exec in its workstation and a socket, and a class has many.
    await Promise.all(Array.from({ length: 8 }, adoptNext));
    // Kept: the adopted ones, every session this run holds, asked at each removal (one being
    // made meanwhile is listed before it makes anything: createSession), and the sessions of the
    // other engines (theirs to adopt: cgroups are this host's, shared by its engines).
    const keep = {
      has: (id: string) => adopted.has(id) || this.sessions.has(id) || elsewhere.has(id),
    };
    // This run's host helper (made by prepareSide a moment ago) stays: removing it cost a new one.
    const helperId = await side.helper?.currentId();
    await this.removeEngineObjects(engine, byInstance, keep, new Set(helperId ? [helperId] : []));
    await removeInstanceImages(engine, this.config.instance, keep); // [builds hook] images ended sessions built (own-images.ts)
    // Not awaited: a group whose processes still run (a session reset away from an engine that
    // died with its containers still running) is retried a while in each hierarchy, which must
    // not hold the start (measured: 15 s per such session on cgroup v1, tests/faults/three-engines.test.ts).
    if (side.cgroups)
      void removeInstanceCgroups(side.cgroups, this.config.instance, keep).catch(() => undefined);
    // Folders: this engine's ended ones; the default engine also the kept homes no reset waits for.
    const homeInUse = (folder: string) =>
      this.replacing.size > 0 ||
      [...this.keptHomes.values()].includes(join(this.sessionsDir, folder));
    const leftFolders = await readdir(this.sessionsDir).catch(() => [] as string[]);
    await Promise.all(
      leftFolders
        .filter((f) =>
          f.startsWith("kept-home-")
            ? engine === this.engine && !homeInUse(f)
            : mine.includes(f) && !keep.has(f),
        )
        .map((f) => removeWorkspace(join(this.sessionsDir, f))),
    );
    if (adopted.size > 0 || mine.length > 0)
      this.log.info(
        { engine: engine.name, adopted: adopted.size, removed: mine.length - adopted.size },
        "previous run's sessions adopted",
      );
  }

  /** Why a previous run's session counts as ended now (it would have been swept meanwhile), or undefined. */
  private endedWhileDown(record: SessionRecord | undefined, now: number): string | undefined {
    if (!record) return undefined;
    if (!record.owner) return undefined; // pooled: its clocks have not started
    if (now >= record.expiresAt) return "maximum lifetime reached while the server was down";
    if (now - record.lastActiveAt >= this.config.idleTimeoutSeconds * 1000)
      return "idle timeout reached while the server was down";
    return undefined;
  }

  /**
   * Takes a previous run's session back: its home's mounts, its cgroup, a new proxy socket at
   * the same path (the workstation mounts the socket's folder, so it sees the new socket), its
   * terminal (the old shell is ended: nothing can attach to it again), guards and forwards.
   * A workstation gone from the engine is rebuilt with the home kept (recover). Returns false
   * when the session is not kept (a pooled one beyond the pool, or one with no workstation).
   */
  private async adopt(
    record: SessionRecord,
    containers: Docker.ContainerInfo[],
    side: EngineSide,
  ): Promise<boolean> {
    const id = record.id;
    const workstation = containers.find((c) => c.Labels[LABEL_ROLE] === "workstation");
    if (!record.owner) {
      // A slot of the pool is taken here, before any await: adoptions run side by side.
      if (!workstation || this.adoptedIntoPool >= this.config.poolSize) return false;
      this.adoptedIntoPool++;
    }
    const sessionDir = join(this.sessionsDir, id);
    const scope = new SessionScope(id, this.config.instance, sessionDir);
    const session = new Session(
      id,
      record.owner,
      scope,
      sessionDir,
      0,
      new StudentView(scope, side.engineRootDir),
      side.engine,
    );
    session.createdAt = record.createdAt;
    session.expiresAt = record.expiresAt;
    session.lastActiveAt = record.lastActiveAt;
    session.client = record.client;
    const saved = await readHistoryFile(sessionDir);
    if (saved) session.restoreHistory(saved);
    // Listed only once whole: when adoption waited for the engine, requests already come in.
    try {
      if (!side.engine.remote) await ensureHomeMounts(scope); // a remote home is the engine's volume
      // Still there after a crash; made again (with today's limits) after a host restart.
      await this.placeInSessionCgroup(side, scope);
      session.proxy = this.makeProxy(session);
      await session.proxy.listen();
      if (!workstation) {
        // Removed while the server was down: rebuilt, home kept, once the server runs (recover).
        session.workstationId = record.workstationId;
        this.sessions.set(id, session);
        this.afterStart.push(() => void this.recover(id).catch(() => undefined));
        return true;
      }
      if (workstation.State === "running") await this.endOrphanShells(side.engine, workstation.Id);
      const screen = await readFile(join(sessionDir, SCREEN_FILE), "utf8").catch(() => undefined);
      await rm(join(sessionDir, SCREEN_FILE), { force: true });
      this.wireWorkstation(session, workstation.Id, screen);
      // The old relay ended with the old server (its agent exits when its stdin ends).
      if (side.engine.remote && workstation.State === "running")
        await this.relaySocketInto(session, "workstation");
    } catch (error) {
      // What adoption had opened for it goes; its objects and folder are removed by the caller.
      session.quota?.stop();
      session.logFlood?.stop();
      session.terminal?.dispose();
      await session.proxy?.close().catch(() => undefined);
      throw error;
    }
    session.terminal!.notice(
      "the course server restarted: this is a new shell; your files, containers, volumes and progress are as you left them",
    );
    const checks = containers.find(
      (c) => c.Labels[LABEL_ROLE] === CHECK_CONTAINER_ROLE && c.State === "running",
    );
    if (checks) {
      session.adoptCheckContainer(checks.Id);
      if (side.engine.remote) void this.relaySocketInto(session, "checks", checks.Id);
    }
    // The student's running containers: their port forwards (made again) and the log-flood guard.
    for (const c of containers) {
      if (c.Labels[LABEL_OWNER] !== id || c.State !== "running") continue;
      this.afterStart.push(() => {
        void session.ports
          ?.start(c.Id, parsePorts(c.Labels[LABEL_PORTS]))
          .catch((err: Error) =>
            this.log.warn({ session: id, err: err.message }, "port forward failed"),
          );
        void session.logFlood?.watch(c.Id).catch(() => undefined);
      });
    }
    this.sessions.set(id, session);
    if (!record.owner) {
      side.pool.push(session);
      this.afterStart.push(() => void session.terminal?.ensureShell().catch(() => undefined));
    }
    await this.persist(session);
    if (record.owner) await this.recordOwner(session);
    this.log.info(
      { session: id, engine: side.engine.name, owner: Boolean(record.owner) },
      "session adopted",
    );
    return true;
  }

  /** Pooled sessions of the previous run taken back at start (at most the pool's size). */
  private adoptedIntoPool = 0;

  /** Work for adopted sessions that waits until the event stream runs (a rebuild, port forwards). */
  private afterStart: (() => void)[] = [];

  /**
   * The previous run's shells in a workstation: the engine cannot attach a new client to an
   * exec, and the old one keeps running with its stream gone (measured: `bash -l` and its jobs
   * stay after the server is killed), so each is sent SIGHUP, which ends it and its jobs as a
   * closed terminal would. Only exec'd `bash -l` processes (parent 0 in the container): the
   * workstation's init and the port forwarders (socat) stay.
   */
  private async endOrphanShells(engine: Engine, workstationId: string): Promise<void> {
    const script = `for s in /proc/[0-9]*/status; do
  p=\${s#/proc/}; p=\${p%/status}
  [ "$p" = "$$" ] && continue
  grep -q '^PPid:[[:space:]]*0$' "$s" 2>/dev/null || continue
  [ "$(tr '\\0' ' ' < /proc/$p/cmdline 2>/dev/null)" = "bash -l " ] && kill -HUP "$p" 2>/dev/null
done
true`;
    const result = await runInWorkstation(engine.docker, workstationId, script, {
      timeoutMs: 10_000,
    });
    if (result.exitCode !== 0)
      this.log.warn({ output: result.output.slice(0, 500) }, "the previous shells were not ended");
  }

  private async sweep(): Promise<void> {
    const now = Date.now();
    // The per-address creation log forgets addresses with nothing in the last minute: kept as
    // they came, every address that ever asked for a sandbox stayed in memory.
    for (const [client, times] of this.createLog)
      if (!times.some((t) => now - t < 60_000)) this.createLog.delete(client);
    const screensDue: Session[] = [];
    for (const session of this.sessions.values()) {
      if (!session.owner) continue; // pooled: its clocks have not started
      if (now >= session.expiresAt) await this.destroy(session.id, "maximum lifetime reached");
      else if (now - session.lastActiveAt >= this.config.idleTimeoutSeconds * 1000)
        await this.destroy(session.id, "idle timeout");
      // The idle clock survives a crash to within this much (a restart removes who went idle meanwhile).
      else {
        if (session.lastActiveAt - session.persistedActiveAt >= 30_000) await this.persist(session);
        if (session.historyChangedAt > session.historySavedAt) void this.saveHistory(session);
        if (session.terminal?.changedSinceSnapshot && now - session.screenSavedAt >= SCREEN_SAVE_MS)
          screensDue.push(session);
      }
    }
    // One screen after another, each in a turn of its own: started together, a class's screens
    // were serialized in one go, every 5 s while the class typed (30 screens held the event loop
    // 38-42 ms at once; in turn, at most 4 ms), and every student's echo waited behind them.
    void (async () => {
      for (const session of screensDue) await this.saveScreen(session);
    })();
  }

  /**
   * Hands an engine event to the session it belongs to, in the student's names. A `replayed` one
   * (from before this server started) only joins the history, when newer than what it holds: the
   * adoption has already acted on the engine's present state (workstations, forwards).
   */
  private route(event: EngineEvent, from: Engine, replayed = false): void {
    const attributes = event.Actor.Attributes ?? {};
    const sessionId =
      attributes[LABEL_SESSION] ??
      sessionIdOfName(event.Type === "network" ? (attributes.name ?? "") : event.Actor.ID);
    const found = sessionId ? this.sessions.get(sessionId) : undefined;
    // Another engine's event never reaches a session: ids and names are only unique per engine.
    const session = found?.engine === from ? found : undefined;
    const nano = event.timeNano || event.time * 1e9;
    if (replayed && (!session || nano <= session.lastEventNano)) return;
    if (
      !replayed &&
      session &&
      event.Type === "container" &&
      event.Actor.ID === session.workstationId &&
      (event.Action === "destroy" || event.Action === "die") &&
      !this.destroying.has(session.id)
    ) {
      void this.recover(session.id).catch((err: Error) =>
        this.log.error(
          { session: session.id, err: err.message },
          "rebuilding a vanished workstation failed",
        ),
      );
      return;
    }
    if (!session?.proxy || !session.proxy.ownsEvent(event, session.workstationId)) return;
    // Only what the history keeps is rewritten: a container's labels can be large, and come with every event.
    const shown = session.view.json({
      ...event,
      Actor: { ID: event.Actor.ID, Attributes: keptAttributes(attributes) },
    }) as EngineEvent;
    const shownAttributes = shown.Actor.Attributes ?? {};
    session.record(
      {
        type: shown.Type,
        action: shown.Action,
        id: shown.Actor.ID,
        name: event.Type === "volume" ? shown.Actor.ID : shownAttributes.name,
        attributes: shownAttributes,
        time: Math.floor(nano / 1e6),
      },
      nano,
    );
    if (!replayed && event.Type === "container" && attributes[LABEL_PORTS]) {
      const ports = parsePorts(attributes[LABEL_PORTS]);
      if (event.Action === "start")
        void session.ports
          ?.start(event.Actor.ID, ports)
          .catch((err) => this.log.warn({ err: err.message }, "port forward failed"));
      if (event.Action === "die") void session.ports?.stop(event.Actor.ID).catch(() => undefined);
    }
    // `docker run --rm`: the engine removes the container; we remove the anonymous volumes we made for it.
    if (
      event.Type === "container" &&
      event.Action === "destroy" &&
      attributes[LABEL_AUTOREMOVE] === "1"
    ) {
      for (const name of (attributes[LABEL_ANON_VOLUMES] ?? "")
        .split(",")
        .filter((n) => n.startsWith(session.scope.prefix))) {
        void from.docker
          .getVolume(name)
          .remove()
          .catch(() => undefined);
      }
    }
  }
}

/**
 * Moves a kept home's file or folder into a new home. The new home is a mount of its own
 * (nodev,nosuid: workspace.ts), which a rename cannot cross (EXDEV): then it is copied with
 * owners, modes, times and links as they are (`cp -a`, run as root) and the original removed.
 */
async function moveEntry(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    await promisify(execFile)("cp", ["-a", "--", from, to]);
    await rm(from, { recursive: true, force: true });
  }
}
