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

type Listener = (event: EngineEvent) => void;

/**
 * The server's one stream of engine events, shared by every session: the proxy's cleanups, the
 * checks' history and the state panel all read from it. Reconnects by itself if the engine goes.
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

  constructor(engine: Engine, log: Logger) {
    this.engine = engine;
    this.log = log;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  private async connect(): Promise<void> {
    try {
      const stream = (await this.engine.docker.getEvents({})) as unknown as IncomingMessage;
      this.stream = stream;
      this.connected = true;
      this.retrying = false;
      eachLine(stream, (text) => {
        const line = text.trim();
        if (!line) return;
        try {
          const event = JSON.parse(line) as EngineEvent;
          for (const listener of this.listeners) listener(event);
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
