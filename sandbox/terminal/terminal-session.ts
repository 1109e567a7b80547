/**
 * The student's shell: `bash -l` exec'd in the workstation over the engine's hijacked exec
 * stream (no per-session host process: see docs/decisions/terminal.md), mirrored into a headless
 * xterm so a reconnecting browser gets the current screen redrawn.
 *
 * Flow control (after the xterm.js guide): the browser acknowledges bytes it has written to its
 * screen; past HIGH_WATER unacknowledged bytes we stop reading the exec stream, so a flood
 * (`yes`) back-pressures into the container's pty instead of growing this process's memory.
 */
import type { Duplex } from "node:stream";
import headless from "@xterm/headless";
import serialize from "@xterm/addon-serialize";
import type Docker from "dockerode";
import { STUDENT_HOME } from "../naming/scope.ts";

const { Terminal } = headless;
const { SerializeAddon } = serialize;

export const HIGH_WATER = 256 * 1024;
export const LOW_WATER = 64 * 1024;
/** Lines the mirror keeps above the screen (what a reload redraws). */
const SCROLLBACK = 200;

/**
 * The engine watches an exec's input for its detach keys, Ctrl-P Ctrl-Q by default, and ends the
 * exec when they arrive: the student's own `docker run -it` detach would end their whole shell
 * ("read escape sequence"), and every Ctrl-P (bash's previous line) would wait for the next key.
 * The terminal's exec gets a sequence no one types (eight control characters) instead, so those
 * keys reach the shell and, through it, the student's `docker run -it` / `attach`.
 */
export const SHELL_DETACH_KEYS = "ctrl-^,ctrl-@,ctrl-_,ctrl-^,ctrl-@,ctrl-_,ctrl-^,ctrl-@";

/**
 * What of a batch the headless mirror must parse to end in the same state: when the batch is
 * plain text lines (a flood: `yes`, `cat big.log`), only its last `lines` lines can still be on
 * the mirrored screen or in its scrollback, and parsing the rest is wasted CPU that the
 * neighbours' keystrokes wait behind. The part dropped must hold no escape or shift byte (so no
 * mode, colour or alternate screen is skipped); it is replaced by a new line.
 */
export function mirrorPart(data: Buffer, lines: number): Buffer {
  if (data.length < 16 * 1024) return data;
  let cut = data.length;
  for (let n = 0; n <= lines; n++) {
    cut = data.lastIndexOf(0x0a, cut - 1);
    if (cut <= 0) return data;
  }
  const dropped = data.subarray(0, cut + 1);
  if (
    dropped.includes(0x1b) ||
    dropped.includes(0x0e) ||
    dropped.includes(0x0f) ||
    dropped.includes(Buffer.from([0xc2, 0x9b]))
  )
    return data;
  return Buffer.concat([Buffer.from("\r\n"), data.subarray(cut + 1)]);
}

/** The engine's answer to an exec in a container that is stopped (409) or paused. */
function isNotRunning(error: unknown): boolean {
  const e = error as { statusCode?: number; message?: string };
  return e?.statusCode === 409 || /is not running|is paused/i.test(e?.message ?? "");
}

export const ENGINE_GONE =
  "the Docker engine is not answering right now; press a key to try again in a moment (your files are kept)";

/** Bytes the headless mirror may have queued before we pause the shell too. */
const MIRROR_HIGH_WATER = 1024 * 1024;

/**
 * Output a terminal passes on per second, at most. Every byte costs the one server process all
 * sessions share (a frame, a mirror parse), and a browser cannot show more anyway: a flood
 * (`yes`) acknowledged as fast as it came took 32 MiB/s and put the neighbours' echo p99 at
 * 35–55 ms. Past the budget of a window the shell is paused until the window ends (the pty
 * back-pressures), so `cat` of a big file still completes, at this pace.
 */
export const OUTPUT_BYTES_PER_SECOND = 4 * 1024 * 1024;
const RATE_WINDOW_MS = 100;
const RATE_WINDOW_BYTES = (OUTPUT_BYTES_PER_SECOND * RATE_WINDOW_MS) / 1000;

/** The browser side of a terminal: one WebSocket, seen through this small interface. */
export interface TerminalClient {
  sendOutput(data: Buffer): void;
  sendControl(message: Record<string, unknown>): void;
  close(code: number, reason: string): void;
}

export class TerminalSession {
  private readonly docker: Docker;
  private readonly containerId: string;
  private stream: Duplex | undefined;
  private exec: Docker.Exec | undefined;
  private starting: Promise<void> | undefined;
  private readonly mirror: InstanceType<typeof Terminal>;
  private readonly serializer: InstanceType<typeof SerializeAddon>;
  private client: TerminalClient | undefined;
  /** Read-only viewers (a teacher looking over the shoulder): output only, never input, outside flow control. */
  private readonly watchers = new Set<TerminalClient>();
  private unacked = 0;
  private mirrorPending = 0;
  private paused = false;
  private cols = 100;
  private rows = 30;
  private exited = false;
  private disposed = false;
  private batch: Buffer[] = [];
  private rateWindowStart = 0;
  private rateWindowBytes = 0;
  /** Set while the shell is paused for having used its window's output budget. */
  private rateTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  /** Output came since the last snapshot() (the session manager saves the screen now and then). */
  changedSinceSnapshot = false;
  /** Called on every keystroke: the session's idle clock. */
  onInput: () => void = () => {};
  /**
   * Starts the workstation again when it is not running (an engine restart stops every
   * container): without it, each attach failed on the stopped container and the learner's
   * terminal stayed blank until the session was swept away.
   */
  reviveWorkstation: (() => Promise<void>) | undefined;

  /** `screen`: a previous server's mirrored screen (snapshot()), drawn first, so a reconnecting browser sees what it showed. */
  constructor(docker: Docker, containerId: string, screen?: string) {
    this.docker = docker;
    this.containerId = containerId;
    this.mirror = new Terminal({
      cols: this.cols,
      rows: this.rows,
      scrollback: SCROLLBACK,
      allowProposedApi: true,
    });
    this.serializer = new SerializeAddon();
    this.mirror.loadAddon(this.serializer);
    if (screen) this.mirror.write(screen);
  }

  /** The mirrored screen and scrollback as escape sequences (what a reconnecting browser is sent). */
  async snapshot(): Promise<string> {
    this.flush();
    this.changedSinceSnapshot = false;
    if (this.disposed) return "";
    await new Promise<void>((resolve) => this.mirror.write("", resolve));
    return this.disposed ? "" : this.serializer.serialize();
  }

  /** Starts the shell if it is not running (first connect, or after the student typed exit). */
  async ensureShell(): Promise<void> {
    if (this.stream && !this.exited) return;
    this.starting ??= this.startShell().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async startShell(): Promise<void> {
    try {
      await this.startShellOnce();
    } catch (error) {
      if (!this.reviveWorkstation || !isNotRunning(error)) throw error;
      await this.reviveWorkstation();
      await this.startShellOnce();
    }
  }

  private async startShellOnce(): Promise<void> {
    const exec = await this.docker.getContainer(this.containerId).exec({
      Cmd: ["bash", "-l"],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
      User: "1000:1000",
      WorkingDir: STUDENT_HOME,
      Env: [
        "TERM=xterm-256color",
        `HOME=${STUDENT_HOME}`,
        "LANG=C.UTF-8",
        `COLUMNS=${this.cols}`,
        `LINES=${this.rows}`,
      ],
      DetachKeys: SHELL_DETACH_KEYS,
    });
    const stream = (await exec.start({
      hijack: true,
      stdin: true,
      Tty: true,
    })) as unknown as Duplex;
    this.exec = exec;
    this.stream = stream;
    this.exited = false;
    this.unacked = 0;
    this.mirrorPending = 0;
    this.paused = false;
    stream.on("data", (chunk: Buffer) => this.onOutput(chunk));
    stream.on("end", () => void this.onShellEnd(exec));
    stream.on("error", () => void this.onShellEnd(exec));
    stream.on("close", () => void this.onShellEnd(exec));
    await exec.resize({ h: this.rows, w: this.cols }).catch(() => undefined);
  }

  /**
   * Output is gathered for one turn of the event loop and sent as one frame (a flood arrives in
   * many small reads: one WebSocket frame and one mirror write per read cost more than the bytes).
   */
  private onOutput(chunk: Buffer): void {
    this.batch.push(chunk);
    this.countRate(chunk.length);
    this.mirrorPending += chunk.length;
    if (this.client) this.unacked += chunk.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    this.updateFlow();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0) return;
    const data = this.batch.length === 1 ? this.batch[0]! : Buffer.concat(this.batch);
    this.batch = [];
    if (this.disposed) return;
    this.changedSinceSnapshot = true;
    this.client?.sendOutput(data);
    for (const watcher of this.watchers) watcher.sendOutput(data);
    const mirrored = mirrorPart(data, this.rows + SCROLLBACK);
    this.mirror.write(mirrored, () => {
      this.mirrorPending -= data.length;
      this.updateFlow();
    });
  }

  private countRate(bytes: number): void {
    const now = performance.now();
    if (now - this.rateWindowStart >= RATE_WINDOW_MS) {
      this.rateWindowStart = now;
      this.rateWindowBytes = 0;
    }
    this.rateWindowBytes += bytes;
    if (this.rateWindowBytes < RATE_WINDOW_BYTES || this.rateTimer) return;
    this.rateTimer = setTimeout(
      () => {
        this.rateTimer = undefined;
        this.rateWindowStart = performance.now();
        this.rateWindowBytes = 0;
        this.updateFlow();
      },
      Math.max(1, this.rateWindowStart + RATE_WINDOW_MS - now),
    );
  }

  private updateFlow(): void {
    const clientBusy = this.client !== undefined && this.unacked > HIGH_WATER;
    const mirrorBusy = this.mirrorPending > MIRROR_HIGH_WATER;
    const overRate = this.rateTimer !== undefined;
    if (!this.paused && (clientBusy || mirrorBusy || overRate)) {
      this.paused = true;
      this.stream?.pause();
    } else if (
      this.paused &&
      !overRate &&
      (this.client === undefined || this.unacked < LOW_WATER) &&
      this.mirrorPending < MIRROR_HIGH_WATER / 4
    ) {
      this.paused = false;
      this.stream?.resume();
    }
  }

  private async onShellEnd(exec: Docker.Exec): Promise<void> {
    if (this.exec !== exec || this.exited || this.disposed) return;
    this.flush();
    this.exited = true;
    this.stream = undefined;
    const code = await exec
      .inspect()
      .then((i) => i.ExitCode ?? 0)
      .catch(() => undefined);
    if (this.disposed) return;
    if (code === undefined) {
      // The stream ended because the engine went away, not because the student typed exit.
      this.client?.sendControl({ type: "error", message: ENGINE_GONE });
      this.mirror.write(`\r\n[${ENGINE_GONE}]\r\n`);
      this.client?.sendOutput(Buffer.from(`\r\n\x1b[33m[sandbox] ${ENGINE_GONE}\x1b[0m\r\n`));
      return;
    }
    this.client?.sendControl({ type: "exit", code });
    this.mirror.write("\r\n[the shell ended; press any key to start a new one]\r\n");
  }

  /** A browser attaches: it gets the current screen, then live output. An older one is let go. */
  async attach(client: TerminalClient): Promise<void> {
    if (this.client && this.client !== client)
      this.client.close(4000, "this terminal was opened in another tab");
    this.client = client;
    this.unacked = 0;
    await this.ensureShell();
    // Wait for the mirror to catch up so the redraw is the screen as it stands.
    this.flush();
    if (this.disposed) return;
    await new Promise<void>((resolve) => this.mirror.write("", resolve));
    // The session may have ended meanwhile: its mirror is gone (serializing it threw, unhandled).
    if (this.disposed) return;
    const screen = this.serializer.serialize();
    if (screen) client.sendOutput(Buffer.from(screen));
    if (this.watchers.size > 0) client.sendControl({ type: "watched", watching: true });
    this.updateFlow();
  }

  /**
   * A read-only viewer: the current screen, then live output; nothing it sends reaches the shell
   * (classes/watch-socket.ts reads no input). The student's page is told someone is watching.
   */
  async watch(viewer: TerminalClient): Promise<void> {
    this.flush();
    await new Promise<void>((resolve) => this.mirror.write("", resolve));
    viewer.sendControl({ type: "size", cols: this.cols, rows: this.rows });
    const screen = this.serializer.serialize();
    if (screen) viewer.sendOutput(Buffer.from(screen));
    this.watchers.add(viewer);
    this.client?.sendControl({ type: "watched", watching: true });
  }

  unwatch(viewer: TerminalClient): void {
    if (this.watchers.delete(viewer) && this.watchers.size === 0)
      this.client?.sendControl({ type: "watched", watching: false });
  }

  get watching(): number {
    return this.watchers.size;
  }

  /**
   * A message from the sandbox itself (a limit was reached): shown in the terminal, kept on the
   * mirrored screen so a reload still shows it, and sent to the page as a control message.
   */
  notice(text: string): void {
    this.flush();
    const line = `\r\n\x1b[33m[sandbox] ${text.replace(/\n/g, "\r\n")}\x1b[0m\r\n`;
    this.mirror.write(line);
    this.changedSinceSnapshot = true;
    this.client?.sendOutput(Buffer.from(line));
    for (const watcher of this.watchers) watcher.sendOutput(Buffer.from(line));
    this.client?.sendControl({ type: "notice", message: text });
  }

  detach(client: TerminalClient): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.unacked = 0;
    this.updateFlow();
  }

  async input(data: Buffer): Promise<void> {
    this.onInput();
    if (this.starting) {
      // Typed while the shell starts (a fast first key): it goes to the new shell, not lost.
      await this.starting;
      this.stream?.write(data);
      return;
    }
    if (this.exited || !this.stream) {
      this.mirror.reset();
      await this.ensureShell();
      return;
    }
    this.stream.write(data);
  }

  ack(bytes: number): void {
    this.unacked = Math.max(0, this.unacked - bytes);
    this.updateFlow();
  }

  async resize(cols: number, rows: number): Promise<void> {
    this.cols = cols;
    this.rows = rows;
    this.mirror.resize(cols, rows);
    for (const watcher of this.watchers) watcher.sendControl({ type: "size", cols, rows });
    await this.exec?.resize({ h: rows, w: cols }).catch(() => undefined);
  }

  /** The server's side ends: the browser and viewers are told why (the session ended, or the server restarts). */
  dispose(code = 4001, reason = "the session ended"): void {
    this.disposed = true;
    clearTimeout(this.rateTimer);
    this.client?.close(code, reason);
    this.client = undefined;
    for (const watcher of this.watchers) watcher.close(code, reason);
    this.watchers.clear();
    this.stream?.destroy();
    this.stream = undefined;
    this.mirror.dispose();
  }
}
