/** The terminal: xterm.js over the session WebSocket (docs/api.md). Loaded by dynamic import only. */
import { Terminal, type ITheme } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";
import { ApiError, describeError, ensureSession, forgetSession } from "./session.ts";

export interface TerminalController {
  type(text: string, run: boolean): void;
  fit(): void;
  focus(): void;
  reconnect(): void;
}

interface Options {
  status(text: string, bad?: boolean): void;
  /** The server sent a notice or an error (the page may ask what it means for the sandbox). */
  serverSaid(): void;
  showReconnect(show: boolean): void;
}

const ACK_EVERY = 32 * 1024;
const MAX_BACKOFF_MS = 15_000;
/** The longest wait between tries while the server restarts (it said so: close code 1012). */
const RESTART_BACKOFF_MS = 2_000;

const THEME: ITheme = {
  background: "#111418",
  foreground: "#e6edf3",
  cursor: "#9ccaff",
  selectionBackground: "#3a5a80",
};

export function mountTerminal(host: HTMLElement, opts: Options): TerminalController {
  const term = new Terminal({
    cursorBlink: true,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
    fontSize: 14,
    scrollback: 5000,
    theme: THEME,
    allowProposedApi: false,
  });
  const fitAddon = new FitAddon();
  term.loadAddon(fitAddon);
  term.open(host);
  term.textarea?.setAttribute("aria-label", "Terminal input: your shell in the sandbox");
  term.textarea?.setAttribute("aria-describedby", "terminal-help");
  void tryWebgl(term);

  const encoder = new TextEncoder();
  let ws: WebSocket | undefined;
  let disposed = false;
  let attempt = 0;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let unacked = 0;
  let ackTimer: ReturnType<typeof setTimeout> | undefined;
  let lastSize = "";
  const queued: string[] = [];

  const sendText = (msg: object) => {
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };
  const sendResize = (force = false) => {
    const size = `${term.cols}x${term.rows}`;
    if (!force && size === lastSize) return;
    lastSize = size;
    sendText({ type: "resize", cols: term.cols, rows: term.rows });
  };
  const flushAck = () => {
    clearTimeout(ackTimer);
    ackTimer = undefined;
    if (unacked > 0 && ws?.readyState === WebSocket.OPEN) {
      sendText({ type: "ack", bytes: unacked });
      unacked = 0;
    }
  };
  // Acknowledge output once xterm has actually rendered it (xterm.js flow-control guide).
  const written = (bytes: number) => {
    unacked += bytes;
    if (unacked >= ACK_EVERY) flushAck();
    else ackTimer ??= setTimeout(flushAck, 50);
  };
  const sendInput = (data: string) => {
    // The student ran something (a file written, a docker exec): checks shown may be out of date.
    if (data.includes("\r")) document.dispatchEvent(new CustomEvent("stowage:terminal-enter"));
    if (ws?.readyState === WebSocket.OPEN) ws.send(encoder.encode(data));
    else queued.push(data);
  };

  const fit = () => {
    if (host.offsetWidth === 0 || host.offsetHeight === 0) return;
    try {
      fitAddon.fit();
    } catch {
      /* not visible yet */
    }
    sendResize();
  };
  let fitTimer: ReturnType<typeof setTimeout> | undefined;
  new ResizeObserver(() => {
    clearTimeout(fitTimer);
    fitTimer = setTimeout(fit, 60);
  }).observe(host);

  // Keyboard users leave the terminal with Escape then Tab (Tab alone belongs to the shell).
  // The Escape is held back briefly and forwarded to the shell unless a Tab follows.
  let pendingEsc: ReturnType<typeof setTimeout> | undefined;
  const flushEsc = () => {
    if (pendingEsc === undefined) return;
    clearTimeout(pendingEsc);
    pendingEsc = undefined;
    sendInput("\x1b");
  };
  term.attachCustomKeyEventHandler((e) => {
    if (e.type !== "keydown") return true;
    if (e.key === "Escape" && !e.ctrlKey && !e.altKey && !e.metaKey && !e.shiftKey) {
      flushEsc();
      pendingEsc = setTimeout(flushEsc, 600);
      return false;
    }
    if (e.key === "Tab" && pendingEsc !== undefined) {
      clearTimeout(pendingEsc);
      pendingEsc = undefined;
      e.preventDefault();
      moveFocusFrom(host, e.shiftKey ? -1 : 1);
      return false;
    }
    flushEsc();
    return true;
  });

  term.onData(sendInput);
  term.onBinary((data) => {
    if (ws?.readyState === WebSocket.OPEN)
      ws.send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff));
  });

  // The server said it restarts (close code 1012): it keeps the sandbox, so ask again every
  // second or two until it is back rather than backing off to MAX_BACKOFF_MS.
  let serverRestarting = false;
  const scheduleReconnect = (why: string, atLeastMs = 0) => {
    if (disposed) return;
    const ceiling = serverRestarting ? RESTART_BACKOFF_MS : MAX_BACKOFF_MS;
    const delay = Math.max(
      atLeastMs,
      Math.min(ceiling, 500 * 2 ** attempt) * (0.8 + Math.random() * 0.4),
    );
    attempt++;
    opts.status(`${why} Reconnecting in ${Math.ceil(delay / 1000)} s…`, true);
    opts.showReconnect(true);
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(() => void connect(), delay);
  };

  let connecting = false;
  async function connect(): Promise<void> {
    clearTimeout(reconnectTimer);
    // One connection at a time (a reset's reconnect and a scheduled one may meet here).
    if ((ws && ws.readyState <= WebSocket.OPEN) || connecting) return;
    opts.status(attempt === 0 ? "Starting your sandbox…" : "Reconnecting…");
    let id: string;
    connecting = true;
    try {
      id = await ensureSession();
    } catch (error) {
      connecting = false;
      // 503 busy / 429: the server says when to come back.
      const retry =
        error instanceof ApiError && error.retryAfterSeconds ? error.retryAfterSeconds * 1000 : 0;
      scheduleReconnect(
        `Could not start a sandbox: ${error instanceof ApiError ? error.message : describeError(error)}.`,
        retry,
      );
      return;
    }
    connecting = false;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(
      `${proto}//${location.host}/api/sessions/${encodeURIComponent(id)}/terminal`,
    );
    socket.binaryType = "arraybuffer";
    ws = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      attempt = 0;
      serverRestarting = false;
      unacked = 0;
      opts.status("Connected.");
      opts.showReconnect(false);
      // The server starts by redrawing the current screen: start from a clean one.
      term.reset();
      fit();
      sendResize(true);
      for (const data of queued.splice(0)) socket.send(encoder.encode(data));
    };
    socket.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
      if (typeof event.data !== "string") {
        const bytes = new Uint8Array(event.data);
        term.write(bytes, () => written(bytes.byteLength));
        return;
      }
      let msg: {
        type?: string;
        code?: number;
        message?: string;
        inSeconds?: number;
        watching?: boolean;
      };
      try {
        msg = JSON.parse(event.data) as typeof msg;
      } catch {
        return;
      }
      if (msg.type === "exit") {
        term.write(
          `\r\n\x1b[2m[the shell ended with code ${msg.code ?? "?"}; press any key for a new one]\x1b[0m\r\n`,
        );
        opts.status(
          `The shell ended (code ${msg.code ?? "?"}). Press any key in the terminal for a new one.`,
        );
      } else if (msg.type === "error") {
        term.write(`\r\n\x1b[1;31m${msg.message ?? "error"}\x1b[0m\r\n`);
        opts.status(msg.message ?? "The server reported an error.", true);
        opts.serverSaid();
      } else if (msg.type === "notice") {
        // The line is already on the terminal (the server writes it); the status region is
        // where a screen reader hears it (a disk limit reached, a container start waiting).
        opts.status(msg.message ?? "", true);
        opts.serverSaid();
      } else if (msg.type === "watched") {
        // The teacher opened (or closed) a read-only view of this terminal and sandbox.
        document
          .querySelector<HTMLElement>("[data-watched-notice]")
          ?.toggleAttribute("hidden", !msg.watching);
        opts.status(
          msg.watching
            ? "Your teacher is looking at your terminal (read-only)."
            : "Your teacher stopped looking.",
        );
      } else if (msg.type === "expiring") {
        opts.status(
          `Idle: your sandbox will be cleaned up in ${msg.inSeconds ?? "a few"} s unless you type something.`,
          true,
        );
      }
    };
    socket.onclose = (event) => {
      if (ws !== socket) return; // a newer connection took over
      ws = undefined;
      flushAck();
      // The session may be gone: ask the server again on the next attempt (it returns the live one).
      forgetSession();
      if (disposed) return;
      if (event.code === 1012) serverRestarting = true;
      const why =
        event.code === 1012
          ? "The course server is restarting; your sandbox is kept."
          : opened
            ? "Disconnected."
            : `Could not connect to the terminal${event.reason ? ` (${event.reason})` : ""}.`;
      scheduleReconnect(why);
    };
  }

  addEventListener("online", () => {
    if (!ws) {
      attempt = 0;
      void connect();
    }
  });
  addEventListener("pagehide", () => {
    disposed = true;
    ws?.close(1000, "page closed");
  });

  requestAnimationFrame(fit);
  void connect();

  // For tests and assistive tooling: the visible screen as text (the WebGL renderer draws no DOM text).
  Object.assign(host, {
    screenText: () => {
      const buffer = term.buffer.active;
      const lines: string[] = [];
      for (let i = 0; i < term.rows; i++)
        lines.push(buffer.getLine(buffer.viewportY + i)?.translateToString(true) ?? "");
      return lines.join("\n");
    },
  });

  return {
    type(text, run) {
      const data = text.replace(/\r?\n/g, "\r") + (run ? "\r" : "");
      sendInput(data);
      term.focus();
    },
    fit,
    focus: () => term.focus(),
    reconnect() {
      attempt = 0;
      if (ws) ws.close();
      else void connect();
    },
  };
}

async function tryWebgl(term: Terminal): Promise<void> {
  try {
    const canvas = document.createElement("canvas");
    if (!canvas.getContext("webgl2")) return;
    const { WebglAddon } = await import("@xterm/addon-webgl");
    const webgl = new WebglAddon();
    webgl.onContextLoss(() => webgl.dispose()); // falls back to the DOM renderer
    term.loadAddon(webgl);
  } catch {
    /* the DOM renderer stays */
  }
}

/** Focuses the next (or previous) focusable element outside `container`, in document order. */
function moveFocusFrom(container: HTMLElement, direction: 1 | -1): void {
  const focusable = [
    ...document.querySelectorAll<HTMLElement>(
      'a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex]:not([tabindex="-1"])',
    ),
  ].filter(
    (el) => (!container.contains(el) || el === document.activeElement) && el.offsetParent !== null,
  );
  const here = focusable.indexOf(document.activeElement as HTMLElement);
  const step = (i: number) => (i + direction + focusable.length) % focusable.length;
  let i = step(here);
  while (focusable[i] && container.contains(focusable[i]!) && i !== here) i = step(i);
  focusable[i]?.focus();
}
