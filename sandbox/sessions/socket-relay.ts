/**
 * The workstation's docker socket on a remote engine. Locally the session's proxy socket folder is
 * bind-mounted at /run/stowage; a remote engine cannot mount this server's files, so an agent in
 * the workstation (socket-relay-agent.pl, run by `docker exec` as the student, perl-base only)
 * listens on /run/stowage/docker.sock and carries every connection accepted there over the exec's
 * stdin and stdout; here each becomes a connection of its own to the session's proxy socket, so
 * the proxy, its limits and its policy are the same as for a local workstation.
 *
 * Frames, both ways (inside the engine's stdout framing on the way back; non-TTY exec):
 *
 *   u32 channel | u8 type | u32 length | payload      (big-endian, 9-byte header)
 *
 *   type 0 READY   agent → server, channel 0, payload u32 version (1): it listens
 *   type 1 OPEN    agent → server, no payload: a connection was accepted; ids only grow
 *   type 2 DATA    both ways, 1..RELAY.maxFrame bytes, within the receiver's credit
 *   type 3 EOF     both ways, no payload: the sender's side sends no more (a half-close: the
 *                  receiver shuts down the write side of its socket once its output is written)
 *   type 4 CLOSE   both ways, no payload: the connection is gone; the receiver writes what it
 *                  holds, closes, and forgets the channel (frames for a forgotten one are dropped)
 *   type 5 CREDIT  both ways, payload u32 n: the receiver passed n more bytes of the channel on
 *
 * Flow control: each direction of each channel starts with RELAY.window bytes of credit; DATA
 * spends it, CREDIT (sent once the bytes are written to the socket on the far side) gives it
 * back. A reader that stops reading stops only its own channel (`docker logs -f big | sleep 600`
 * holds one window here and one in the agent), and neither side holds more than a window per
 * channel. The exec's own stream is paused only while its stdin is backed up, which a working
 * agent never lets happen (it always reads stdin; its per-channel buffers are bounded by credit).
 *
 * The agent runs as the student, who can kill or replace it or write into its stdout
 * (/proc/PID/fd/1): its bytes are untrusted here, like the local socket's. Any frame out of
 * line (unknown type, wrong length, DATA beyond credit or after EOF, credit above the window,
 * a channel never opened) ends the relay with a log line; channels are bounded
 * (RELAY.serverChannels, and the proxy's own LIMITS.proxyConnections behind them); nothing read
 * is kept beyond one frame. Threat notes and costs: docs/decisions/engines.md.
 */
import { readFileSync } from "node:fs";
import type { Duplex } from "node:stream";
import type Docker from "dockerode";
import type { Logger } from "../log.ts";
import { LIMITS } from "../proxy/limits.ts";

export const RELAY = {
  /** Credit of one direction of one channel: a stalled reader holds at most this on each side. */
  window: 256 * 1024,
  /** The largest DATA payload. */
  maxFrame: 64 * 1024,
  /** Connections the agent carries at once (more wait in its listen backlog): the proxy's own bound. */
  agentChannels: LIMITS.proxyConnections,
  /** Channels the server keeps (a closing one may linger a moment after the agent forgot it). */
  serverChannels: 2 * LIMITS.proxyConnections,
  /** The agent must say READY within this. */
  readyTimeoutMs: 20_000,
  /** Of the agent's stderr, this much is kept for the log. */
  stderrKept: 2048,
} as const;

const AGENT_SCRIPT = readFileSync(new URL("./socket-relay-agent.pl", import.meta.url), "utf8");
const HEADER = 9;
const FRAME = { ready: 0, open: 1, data: 2, eof: 3, close: 4, credit: 5 } as const;
const PROTOCOL_VERSION = 1;

export interface SocketRelay {
  /** Settles (never rejects) when the relay ends: the exec ended, a bad frame, or close(). */
  readonly done: Promise<void>;
  close(): void;
}

export interface SocketRelayOptions {
  /** The session's engine. */
  docker: Docker;
  workstationId: string;
  /** Where the agent listens in the workstation: "/run/stowage/docker.sock". */
  socketPathInWorkstation: string;
  /** A new connection to the session's proxy, e.g. `() => net.connect({ path, allowHalfOpen: true })`. */
  connect: () => Duplex;
  log: Logger;
}

/** Starts the agent in the workstation; resolves once it listens there. */
export async function startSocketRelay(options: SocketRelayOptions): Promise<SocketRelay> {
  const exec = await options.docker.getContainer(options.workstationId).exec({
    Cmd: [
      "perl",
      "-e",
      AGENT_SCRIPT,
      options.socketPathInWorkstation,
      String(RELAY.window),
      String(RELAY.maxFrame),
      String(RELAY.agentChannels),
    ],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    User: "1000:1000",
    WorkingDir: "/",
    Env: ["PATH=/usr/bin:/bin"],
  });
  const stream = (await exec.start({ hijack: true, stdin: true })) as unknown as Duplex;
  return relayOverExec(stream, options);
}

/**
 * The server's side over an exec's hijacked, non-TTY stream (stdin in, the engine's framed
 * stdout/stderr out); resolves once the agent says READY. startSocketRelay's second half.
 */
export async function relayOverExec(
  stream: Duplex,
  options: Pick<SocketRelayOptions, "workstationId" | "connect" | "log">,
): Promise<SocketRelay> {
  const relay = new Relay(stream, options);
  await relay.ready;
  return relay;
}

/**
 * Keeps a relay running: started again after it ends (the student killed the agent, the
 * workstation stopped), after 1 s, doubling to 30 s while starts fail or relays end within a
 * minute (a student killing the agent in a loop gets one exec per 30 s). `ready` is true once a
 * first relay listens, false if close() came first. A restarted workstation is served at the
 * next retry: call close() and keep a new one to serve it at once.
 */
export function keepSocketRelay(options: SocketRelayOptions): {
  readonly ready: Promise<boolean>;
  close(): void;
} {
  let closed = false;
  let current: SocketRelay | undefined;
  let wake: (() => void) | undefined;
  let firstReady: (ok: boolean) => void = () => undefined;
  const ready = new Promise<boolean>((resolve) => (firstReady = resolve));
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  void (async () => {
    let delayMs = 500;
    while (!closed) {
      const started = Date.now();
      try {
        current = await startSocketRelay(options);
        firstReady(true);
        if (closed) current.close();
        await current.done;
      } catch (error) {
        options.log.warn(
          { workstation: options.workstationId, err: (error as Error).message },
          "socket relay could not start",
        );
      }
      current = undefined;
      if (closed) break;
      delayMs = Date.now() - started > 60_000 ? 500 : Math.min(delayMs * 2, 30_000);
      await pause(delayMs);
    }
    firstReady(false);
  })();
  return {
    ready,
    close() {
      closed = true;
      current?.close();
      wake?.();
    },
  };
}

interface Channel {
  socket: Duplex;
  /** Bytes we may still send the agent. */
  sendCredit: number;
  /** Bytes the agent may still send us. */
  recvCredit: number;
  /** Read from the proxy, waiting for credit (at most one read past the pause). */
  pending: Buffer[];
  proxyEnded: boolean;
  /** The proxy's socket is closed: the channel goes once what it read is sent. */
  socketClosed: boolean;
  eofSent: boolean;
  agentEof: boolean;
  agentClosed: boolean;
}

class Relay implements SocketRelay {
  readonly done: Promise<void>;
  readonly ready: Promise<void>;
  private readonly stream: Duplex;
  private readonly options: Pick<SocketRelayOptions, "workstationId" | "connect" | "log">;
  private readonly log: Logger;
  private readonly channels = new Map<number, Channel>();
  private lastOpened = 0;
  private isReady = false;
  private ended = false;
  private stdinFull = false;
  private stderr = "";
  private resolveDone!: () => void;
  private readyOutcome!: { resolve: () => void; reject: (error: Error) => void };
  private readonly readyTimer: NodeJS.Timeout;
  // The engine's stdout/stderr framing: 8-byte header, then `engineLeft` bytes of `engineType`.
  private readonly engineHeader = Buffer.alloc(8);
  private engineHeaderHave = 0;
  private engineLeft = 0;
  private engineType = 0;
  // The agent's frames, parsed as they come.
  private readonly header = Buffer.alloc(HEADER);
  private headerHave = 0;
  private payload: Buffer | undefined;
  private payloadHave = 0;
  private frameId = 0;
  private frameType = 0;

  constructor(
    stream: Duplex,
    options: Pick<SocketRelayOptions, "workstationId" | "connect" | "log">,
  ) {
    this.stream = stream;
    this.options = options;
    this.log = options.log.child({ workstation: options.workstationId.slice(0, 12) });
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.ready = new Promise((resolve, reject) => (this.readyOutcome = { resolve, reject }));
    this.readyTimer = setTimeout(
      () => this.end(`the agent did not say it listens within ${RELAY.readyTimeoutMs} ms`),
      RELAY.readyTimeoutMs,
    );
    stream.on("data", (chunk: Buffer) => this.fromEngine(chunk));
    stream.on("end", () => this.end("the agent's exec ended"));
    stream.on("close", () => this.end("the agent's exec ended"));
    stream.on("error", (error) => this.end(`the agent's exec failed: ${error.message}`));
    stream.on("drain", () => {
      this.stdinFull = false;
      if (!this.ended) stream.resume();
      for (const [id, channel] of this.channels) this.flush(id, channel);
    });
  }

  close(): void {
    this.end("closed", "debug");
  }

  private end(reason: string, level: "debug" | "info" | "warn" = "info"): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.readyTimer);
    for (const channel of this.channels.values()) channel.socket.destroy();
    this.channels.clear();
    this.stream.destroy();
    const stderr = this.stderr.trim() || undefined;
    if (!this.isReady) {
      this.readyOutcome.reject(
        new Error(`the socket relay's agent did not start: ${stderr ?? reason}`),
      );
    } else this.log[level]({ reason, agentStderr: stderr }, "socket relay ended");
    this.resolveDone();
  }

  private malformed(what: string): void {
    this.end(`malformed frame from the workstation's agent: ${what}`, "warn");
  }

  /** Undoes the engine's stdout/stderr framing (the engine wrote it: trusted lengths, read as they come). */
  private fromEngine(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.ended) {
      if (this.engineLeft === 0) {
        const n = Math.min(8 - this.engineHeaderHave, chunk.length - offset);
        chunk.copy(this.engineHeader, this.engineHeaderHave, offset, offset + n);
        this.engineHeaderHave += n;
        offset += n;
        if (this.engineHeaderHave < 8) return;
        this.engineHeaderHave = 0;
        this.engineType = this.engineHeader[0]!;
        this.engineLeft = this.engineHeader.readUInt32BE(4);
        if (this.engineType !== 1 && this.engineType !== 2)
          return this.end(`unexpected stream ${this.engineType} from the engine`, "warn");
        continue;
      }
      const n = Math.min(this.engineLeft, chunk.length - offset);
      const part = chunk.subarray(offset, offset + n);
      this.engineLeft -= n;
      offset += n;
      if (this.engineType === 1) this.fromAgent(part);
      else if (this.stderr.length < RELAY.stderrKept)
        this.stderr += part.toString("utf8", 0, RELAY.stderrKept - this.stderr.length);
    }
  }

  /** The agent's frames: the header checked before any payload is kept. */
  private fromAgent(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length && !this.ended) {
      if (this.payload === undefined) {
        const n = Math.min(HEADER - this.headerHave, bytes.length - offset);
        bytes.copy(this.header, this.headerHave, offset, offset + n);
        this.headerHave += n;
        offset += n;
        if (this.headerHave < HEADER) return;
        this.headerHave = 0;
        this.frameId = this.header.readUInt32BE(0);
        this.frameType = this.header[4]!;
        const length = this.header.readUInt32BE(5);
        const problem = this.checkHeader(this.frameId, this.frameType, length);
        if (problem) return this.malformed(problem);
        this.payload = Buffer.allocUnsafe(length);
        this.payloadHave = 0;
      } else {
        const n = Math.min(this.payload.length - this.payloadHave, bytes.length - offset);
        bytes.copy(this.payload, this.payloadHave, offset, offset + n);
        this.payloadHave += n;
        offset += n;
      }
      if (this.payloadHave === this.payload.length) {
        const payload = this.payload;
        this.payload = undefined;
        this.onFrame(this.frameId, this.frameType, payload);
      }
    }
  }

  private checkHeader(id: number, type: number, length: number): string | undefined {
    const exact = (want: number) =>
      length === want ? undefined : `type ${type} with ${length} bytes (must be ${want})`;
    if (!this.isReady && type !== FRAME.ready) return `type ${type} before READY`;
    switch (type) {
      case FRAME.ready:
        if (this.isReady || id !== 0) return "a second READY";
        return exact(4);
      case FRAME.open:
        if (id <= this.lastOpened) return `OPEN of channel ${id} after ${this.lastOpened}`;
        return exact(0);
      case FRAME.data:
        if (length === 0 || length > RELAY.maxFrame)
          return `DATA of ${length} bytes (1 to ${RELAY.maxFrame})`;
        break;
      case FRAME.eof:
      case FRAME.close:
        return exact(0);
      case FRAME.credit:
        return exact(4);
      default:
        return `unknown type ${type}`;
    }
    if (id === 0 || id > this.lastOpened) return `channel ${id} was never opened`;
    return undefined;
  }

  private onFrame(id: number, type: number, payload: Buffer): void {
    if (type === FRAME.ready) {
      if (payload.readUInt32BE(0) !== PROTOCOL_VERSION)
        return this.malformed(`protocol version ${payload.readUInt32BE(0)}`);
      this.isReady = true;
      clearTimeout(this.readyTimer);
      this.log.debug("socket relay listening");
      return this.readyOutcome.resolve();
    }
    if (type === FRAME.open) {
      this.lastOpened = id;
      return this.open(id);
    }
    const channel = this.channels.get(id);
    if (!channel || channel.agentClosed) return; // closed here meanwhile: dropped
    if (type === FRAME.data) {
      if (channel.agentEof) return this.malformed(`DATA after EOF on channel ${id}`);
      if (payload.length > channel.recvCredit)
        return this.malformed(
          `${payload.length} bytes on channel ${id} with ${channel.recvCredit} of credit`,
        );
      channel.recvCredit -= payload.length;
      if (channel.socket.writableEnded || channel.socket.destroyed) return;
      channel.socket.write(payload, (error) => {
        if (error || this.ended || this.channels.get(id) !== channel || channel.agentClosed) return;
        channel.recvCredit += payload.length;
        this.send(id, FRAME.credit, payload.length);
      });
    } else if (type === FRAME.eof) {
      channel.agentEof = true;
      channel.socket.end();
    } else if (type === FRAME.close) {
      channel.agentClosed = true;
      channel.pending = [];
      // What the agent sent before is written, then the connection closes.
      if (channel.socket.writableFinished) channel.socket.destroy();
      else channel.socket.end(() => channel.socket.destroy());
    } else if (type === FRAME.credit) {
      const credit = payload.readUInt32BE(0);
      if (channel.sendCredit + credit > RELAY.window)
        return this.malformed(`credit above the window on channel ${id}`);
      channel.sendCredit += credit;
      this.flush(id, channel);
    }
  }

  private open(id: number): void {
    if (this.channels.size >= RELAY.serverChannels) {
      this.log.warn({ channels: this.channels.size }, "socket relay: too many connections");
      this.send(id, FRAME.close);
      return;
    }
    let socket: Duplex;
    try {
      socket = this.options.connect();
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, "socket relay: cannot reach the proxy");
      this.send(id, FRAME.close);
      return;
    }
    const channel: Channel = {
      socket,
      sendCredit: RELAY.window,
      recvCredit: RELAY.window,
      pending: [],
      proxyEnded: false,
      socketClosed: false,
      eofSent: false,
      agentEof: false,
      agentClosed: false,
    };
    this.channels.set(id, channel);
    socket.on("data", (chunk: Buffer) => {
      if (channel.agentClosed || this.ended) return;
      channel.pending.push(chunk);
      this.flush(id, channel);
    });
    socket.on("end", () => {
      channel.proxyEnded = true;
      this.flush(id, channel);
    });
    socket.on("error", (error) => {
      this.log.debug({ channel: id, err: error.message }, "socket relay: proxy connection failed");
      socket.destroy();
    });
    socket.on("close", () => {
      channel.socketClosed = true;
      if (channel.agentClosed) this.forget(id, channel);
      else this.flush(id, channel);
    });
  }

  /** Sends what the proxy gave within the channel's credit; pauses the proxy's socket otherwise. */
  private flush(id: number, channel: Channel): void {
    if (this.ended || channel.agentClosed || this.channels.get(id) !== channel) return;
    while (channel.pending.length > 0 && channel.sendCredit > 0 && !this.stdinFull) {
      const head = channel.pending[0]!;
      const n = Math.min(head.length, channel.sendCredit, RELAY.maxFrame);
      this.send(id, FRAME.data, head.subarray(0, n));
      channel.sendCredit -= n;
      if (n === head.length) channel.pending.shift();
      else channel.pending[0] = head.subarray(n);
    }
    const waiting = channel.pending.length > 0;
    if (!waiting && channel.proxyEnded && !channel.eofSent) {
      channel.eofSent = true;
      this.send(id, FRAME.eof);
    }
    if (!waiting && channel.socketClosed) {
      this.forget(id, channel);
      this.send(id, FRAME.close);
    } else if (waiting || channel.sendCredit === 0 || this.stdinFull) channel.socket.pause();
    else channel.socket.resume();
  }

  private forget(id: number, channel: Channel): void {
    if (this.channels.get(id) === channel) this.channels.delete(id);
  }

  private send(id: number, type: number, payload?: Buffer | number): void {
    if (this.ended) return;
    let body: Buffer;
    if (typeof payload === "number") {
      body = Buffer.alloc(4);
      body.writeUInt32BE(payload);
    } else body = payload ?? Buffer.alloc(0);
    const header = Buffer.alloc(HEADER);
    header.writeUInt32BE(id, 0);
    header[4] = type;
    header.writeUInt32BE(body.length, 5);
    const more = this.stream.write(body.length > 0 ? Buffer.concat([header, body]) : header);
    if (!more && !this.stdinFull) {
      // The agent is not reading: hold everything (its frames included) until it does.
      this.stdinFull = true;
      this.stream.pause();
    }
  }
}
