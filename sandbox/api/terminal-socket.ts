import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { z } from "zod";
import { readLearnerId } from "../http/learner.ts";
import { originAllowed } from "../http/origin.ts";
import type { SessionManager } from "../sessions/session-manager.ts";
import { engineLostMessage } from "../sessions/session.ts";
import { ENGINE_GONE, type TerminalClient } from "../terminal/terminal-session.ts";

const MAX_TEXT_FRAME = 4 * 1024;
const MAX_BINARY_FRAME = 64 * 1024;

/** Control messages the browser may send (text frames). */
const ControlMessage = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("resize"),
    cols: z.number().int().min(10).max(500),
    rows: z.number().int().min(3).max(200),
  }),
  z.object({
    type: z.literal("ack"),
    bytes: z
      .number()
      .int()
      .min(0)
      .max(64 * 1024 * 1024),
  }),
]);

export const SANDBOX_REBUILT =
  "your sandbox's workstation was gone, so a new one is starting with your home folder kept (your progress is kept too)";

/** The engine no longer has the workstation, or it stopped (daemon restart): exec answers 404 or 409. */
export function workstationGone(error: unknown): boolean {
  const e = error as { statusCode?: number; message?: string };
  return (
    (e?.statusCode === 404 && /no such container/i.test(e.message ?? "")) ||
    (e?.statusCode === 409 && /not running/i.test(e.message ?? ""))
  );
}

const TERMINAL_PATH = /^\/api\/sessions\/([a-f0-9]{12})\/terminal$/;

/**
 * The terminal WebSocket: `/api/sessions/{id}/terminal`. Only the session's owner (learner
 * cookie), only from an allowed Origin (no cross-site WebSocket hijacking).
 */
export class TerminalSockets {
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_BINARY_FRAME,
    perMessageDeflate: false,
  });
  private readonly sessions: SessionManager;
  private readonly allowedOrigins: () => Set<string>;

  /** `allowedOrigins`: the configured public origin and the extra ones (http/origin.ts), never the request's Host. */
  constructor(sessions: SessionManager, allowedOrigins: () => Set<string>) {
    this.sessions = sessions;
    this.allowedOrigins = allowedOrigins;
  }

  /** Handles the upgrade if it is for a terminal; returns false otherwise. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const match = TERMINAL_PATH.exec(new URL(req.url ?? "/", "http://x").pathname);
    if (!match) return false;
    const reject = (status: number, message: string, detail = message) => {
      socket.end(
        `HTTP/1.1 ${status} ${message}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(detail)}\r\nConnection: close\r\n\r\n${detail}`,
      );
    };
    if (!originAllowed(req, this.allowedOrigins())) {
      // The status line stays fixed; what was refused and why is in the body.
      reject(
        403,
        "Forbidden origin",
        `Forbidden origin: ${String(req.headers.origin).slice(0, 200)} is not this server's public origin (STOWAGE_PUBLIC_ORIGIN, or one of STOWAGE_ALLOWED_ORIGINS)`,
      );
      return true;
    }
    const learnerId = readLearnerId(req);
    const session = learnerId ? this.sessions.owned(match[1]!, learnerId) : undefined;
    if (!session?.terminal) {
      reject(404, "No such session");
      return true;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.connect(ws, session.id));
    return true;
  }

  private async connect(ws: WebSocket, sessionId: string): Promise<void> {
    const session = this.sessions.get(sessionId);
    const terminal = session?.terminal;
    if (!session || !terminal) return ws.close(4001, "the session ended");
    if (session.engineLost) {
      // Its engine stopped answering: say what to do instead of a failed shell start.
      ws.send(JSON.stringify({ type: "error", message: engineLostMessage(session.engine) }));
      return ws.close(4003, "the sandbox's engine is not answering");
    }
    const client: TerminalClient = {
      sendOutput: (data) => ws.readyState === ws.OPEN && ws.send(data, { binary: true }),
      sendControl: (message) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(message)),
      close: (code, reason) => ws.close(code, reason),
    };
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        void terminal.input(data).catch((error: unknown) => {
          if (workstationGone(error)) return this.rebuild(sessionId, ws);
          client.sendControl({ type: "error", message: ENGINE_GONE });
        });
        return;
      }
      if (data.length > MAX_TEXT_FRAME) return ws.close(1009, "control message too large");
      let parsed;
      try {
        parsed = ControlMessage.safeParse(JSON.parse(data.toString("utf8")));
      } catch {
        parsed = undefined;
      }
      if (!parsed?.success)
        return client.sendControl({ type: "error", message: "unknown control message" });
      session.touch();
      if (parsed.data.type === "resize") void terminal.resize(parsed.data.cols, parsed.data.rows);
      else terminal.ack(parsed.data.bytes);
    });
    ws.on("close", () => terminal.detach(client));
    ws.on("error", () => terminal.detach(client));
    try {
      await terminal.attach(client);
    } catch (error) {
      if (workstationGone(error)) return this.rebuild(sessionId, ws);
      client.sendControl({
        type: "error",
        message: `your shell could not start: ${(error as Error).message}`,
      });
      ws.close(1011, "shell failed");
    }
  }

  /** The workstation is gone: a new sandbox with the same home; the browser reconnects to it. */
  private rebuild(sessionId: string, ws: WebSocket): void {
    if (ws.readyState === ws.OPEN)
      ws.send(JSON.stringify({ type: "notice", message: SANDBOX_REBUILT }));
    void this.sessions.recover(sessionId).then(
      () => ws.close(4002, "sandbox rebuilt"),
      () => ws.close(1011, "sandbox could not be rebuilt"),
    );
  }

  /**
   * Ends every terminal connection. A restart (`restarting`) says so with 1012 (Service Restart),
   * so the page reconnects soon and says why; otherwise the connections are cut at once.
   */
  close(options: { restarting?: boolean } = {}): void {
    for (const ws of this.wss.clients)
      if (options.restarting) ws.close(1012, "the course server is restarting");
      else ws.terminate();
    this.wss.close();
  }
}
