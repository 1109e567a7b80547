import type { IncomingMessage } from "node:http";
import type { Engine } from "./engine.ts";
import type { Logger } from "../log.ts";
import { eachLine } from "../http/lines.ts";

/** One Docker engine event, as the engine sends it. */
export interface EngineEvent {
  Type: "container" | "volume" | "network" | "image" | string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time: number;
  timeNano: number;
}

/** `replayed`: the event happened before this server started (asked for with `start({ since })`). */
type Listener = (event: EngineEvent, replayed: boolean) => void;

/** The engine's `since=` form of a time in nanoseconds: seconds, a dot, nine digits. */
export function sinceParameter(nanos: number): string {
  const seconds = Math.floor(nanos / 1e9);
  return `${seconds}.${String(Math.max(0, Math.round(nanos - seconds * 1e9))).padStart(9, "0")}`;
}

/**
 * The server's one stream of engine events, shared by every session: the proxy's cleanups, the
 * checks' history and the state panel all read from it. Reconnects by itself if the engine goes,
 * asking for what happened meanwhile (`since` the last event it passed on: the engine keeps a
 * short buffer of recent events), so a broken stream loses none that buffer still holds.
 */
export class EventHub {
  private readonly listeners = new Set<Listener>();
  private stream: IncomingMessage | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  connected = false;
  private retrying = false;
  private readonly engine: Engine;
  private readonly log: Logger;
  /** The newest event passed on (nanoseconds): a reconnect asks `since` it and drops what is not newer. */
  private lastNano = 0;
  /** When start() was called (nanoseconds): older events come from the engine's buffer (replayed). */
  private startedNano = 0;

  constructor(engine: Engine, log: Logger) {
    this.engine = engine;
    this.log = log;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts listening. With `since` (nanoseconds), the engine first replays what it still holds
   * from then on: a restarted server hears what its sessions did while it was down.
   */
  async start(options: { since?: number } = {}): Promise<void> {
    this.stopped = false;
    this.startedNano = Date.now() * 1e6;
    if (options.since && options.since > this.lastNano) this.lastNano = options.since;
    await this.connect();
  }

  private async connect(): Promise<void> {
    try {
      // dockerode types `since` as a number; the engine takes "seconds.nanoseconds" (exact).
      const seenUntil = this.lastNano;
      const since = seenUntil ? { since: sinceParameter(seenUntil) } : {};
      const stream = (await this.engine.docker.getEvents(
        since as { since?: number },
      )) as unknown as IncomingMessage;
      this.stream = stream;
      this.connected = true;
      this.retrying = false;
      eachLine(stream, (text) => {
        const line = text.trim();
        if (!line) return;
        try {
          const event = JSON.parse(line) as EngineEvent;
          const nano = event.timeNano || event.time * 1e9;
          // `since` is inclusive, and a reconnect replays what was passed on already: only those
          // are dropped (nanosecond times lose precision as numbers; two live events may tie).
          if (seenUntil && nano <= seenUntil) return;
          if (nano > this.lastNano) this.lastNano = nano;
          const replayed = nano < this.startedNano;
          for (const listener of this.listeners) listener(event, replayed);
        } catch (error) {
          this.log.warn({ err: error, line }, "unreadable engine event");
        }
      });
      const reconnect = () => {
        this.connected = false;
        if (!this.stopped) this.scheduleReconnect();
      };
      stream.on("end", reconnect);
      stream.on("error", reconnect);
    } catch (error) {
      this.connected = false;
      // Once per outage: an engine down for minutes (one of several) retries every second.
      if (!this.retrying)
        this.log.warn(
          { engine: this.engine.name, err: (error as Error).message },
          "engine events unavailable; retrying every second",
        );
      this.retrying = true;
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), 1000);
    this.retryTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stream?.destroy();
  }
}
