/**
 * Warm pools per class (after Instruqt's hot-start pools): a class's sandboxes are made before
 * its students arrive, from `classWarmLeadSeconds` before its start time, as many as its free
 * seats; a member who joins takes one at once (a prompt in the time of a WebSocket connect). The
 * pool follows the free seats down as students join and is emptied when the class ends.
 *
 * Warming must not slow the students already working: sandboxes are made one at a time for all
 * classes together, and the next one waits while any student's container start is queued at the
 * engine (docker/engine-admission.ts), so warming only uses start slots nobody is waiting for.
 */
import type { Engine } from "../docker/engine.ts";
import type { Logger } from "../log.ts";
import type { SessionManager } from "../sessions/session-manager.ts";
import type { Session } from "../sessions/session.ts";
import type { ClassRecord, ClassStore } from "./class-store.ts";

const TICK_MS = 5000;

export class ClassPools {
  private readonly ready = new Map<string, Session[]>();
  private readonly listeners = new Set<(code: string) => void>();
  private warming: Promise<void> | undefined;
  private ticking: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private readonly sessions: SessionManager;
  private readonly store: ClassStore;
  private readonly engine: Engine;
  private readonly log: Logger;
  private readonly leadSeconds: number;

  constructor(
    sessions: SessionManager,
    store: ClassStore,
    engine: Engine,
    log: Logger,
    leadSeconds: number,
  ) {
    this.sessions = sessions;
    this.store = store;
    this.engine = engine;
    this.log = log;
    this.leadSeconds = leadSeconds;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
    await this.warming;
    await Promise.all([...this.ready.keys()].map((code) => this.drain(code)));
  }

  /** Called with the class's code when its pool or its members changed (the dashboards listen). */
  onChange(listener: (code: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(code: string): void {
    for (const listener of this.listeners) listener(code);
  }

  /** The class's ready, untaken sandboxes. */
  warm(code: string): number {
    return this.live(code).length;
  }

  /** For SessionManager.create: one of the class's warm sessions, if one is ready. */
  poolFor(code: string): { take(): Session | undefined; readonly warm: number } {
    const live = () => this.live(code).length;
    return {
      get warm() {
        return live();
      },
      take: () => {
        const session = this.live(code).shift();
        if (session) {
          this.ready.set(
            code,
            this.live(code).filter((s) => s !== session),
          );
          this.changed(code);
          // After the caller has assigned it (synchronously, in SessionManager.create): then it counts as seated.
          setImmediate(() => this.tick());
        }
        return session;
      },
    };
  }

  /**
   * How many warm sandboxes the class should have now, from the lead time to its end: its seats
   * less the members holding a sandbox. Not less the members: a student who has just joined but
   * not yet taken a sandbox must still find one (counting joins emptied the pool under a class
   * arriving at once), and one whose sandbox ended (idle) finds one when coming back.
   */
  async target(record: ClassRecord, now = Date.now()): Promise<number> {
    if (
      now >= Date.parse(record.endsAt) ||
      now < Date.parse(record.startsAt) - this.leadSeconds * 1000
    )
      return 0;
    const seated = (await this.store.members(record.code)).filter((m) =>
      this.sessions.forPublicId(m.publicId),
    ).length;
    return Math.max(0, record.seats - seated);
  }

  /** Sessions still alive (one may have been removed behind the pool's back). */
  private live(code: string): Session[] {
    // A warm session on an engine that stopped answering or drains is no longer offered.
    const list = (this.ready.get(code) ?? []).filter((s) => {
      if (this.sessions.get(s.id) !== s) return false;
      if (this.sessions.fleet.usable(s.engine)) return true;
      void this.sessions.destroy(s.id, "its engine no longer takes sessions");
      return false;
    });
    this.ready.set(code, list);
    return list;
  }

  /**
   * Empties the pools of ended classes, trims pools above their target, starts warming if needed.
   * One tick at a time (it reads the database); one asked for meanwhile runs after it.
   */
  tick(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = this.check()
      .catch((error: Error) =>
        this.log.warn({ err: error.message }, "class pool: checking the classes failed"),
      )
      .finally(() => {
        this.ticking = undefined;
        if (this.tickAgain) {
          this.tickAgain = false;
          this.tick();
        }
      });
  }

  private tickAgain = false;

  private async check(): Promise<void> {
    const active = new Map((await this.store.active(new Date())).map((r) => [r.code, r]));
    for (const code of [...this.ready.keys()]) {
      const record = active.get(code);
      const surplus = this.live(code).length - (record ? await this.target(record) : 0);
      if (surplus > 0) void this.drain(code, surplus);
    }
    for (const r of active.values())
      if ((await this.target(r)) > this.live(r.code).length) {
        this.warming ??= this.warmAll()
          .catch((error: Error) =>
            this.log.warn(
              { err: error.message },
              "class pool: warming stopped; the next tick resumes",
            ),
          )
          .finally(() => (this.warming = undefined));
        return;
      }
  }

  private async drain(code: string, count = Infinity): Promise<void> {
    const list = this.live(code);
    const gone = list.splice(Math.max(0, list.length - count));
    if (list.length === 0) this.ready.delete(code);
    await Promise.all(gone.map((s) => this.sessions.destroy(s.id, "class pool shrank")));
    if (gone.length) this.changed(code);
  }

  private async warmAll(): Promise<void> {
    while (!this.stopped) {
      // The class furthest below its target goes first, so two classes warm side by side.
      const classes = await this.store.active(new Date());
      const needy = (
        await Promise.all(
          classes.map(async (r) => ({
            code: r.code,
            missing: (await this.target(r)) - this.live(r.code).length,
          })),
        )
      )
        .filter((c) => c.missing > 0)
        .sort((a, b) => b.missing - a.missing)[0];
      if (!needy) return;
      // Sessions are placed over the engines: warming waits while any student's start waits.
      while (this.sessions.fleet.engines.some((e) => e.starts.load.waiting > 0) && !this.stopped)
        await new Promise((r) => setTimeout(r, 100));
      let session: Session;
      try {
        session = await this.sessions.createWarm();
      } catch (error) {
        this.log.warn(
          { class: needy.code, err: (error as Error).message },
          "class pool: a sandbox could not be warmed; retrying later",
        );
        return; // the next tick tries again
      }
      const record = await this.store.get(needy.code);
      if (this.stopped || !record || (await this.target(record)) <= this.live(needy.code).length) {
        await this.sessions.destroy(session.id, "class pool no longer needs it");
        continue;
      }
      this.ready.set(needy.code, [...this.live(needy.code), session]);
      this.changed(needy.code);
    }
  }
}
