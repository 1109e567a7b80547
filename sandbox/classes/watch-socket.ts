import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { SessionManager } from "../sessions/session-manager.ts";
import { originAllowed } from "../http/origin.ts";
import type { TerminalClient } from "../terminal/terminal-session.ts";

const TICKET_TTL_MS = 30_000;
/** Output a slow viewer may have queued before frames are dropped (the student's shell never waits for a viewer). */
const VIEWER_MAX_BUFFERED = 1024 * 1024;
const WATCH_PATH = /^\/api\/watch\/([a-f0-9]{32})$/;

/**
 * The teacher's read-only view of a student's terminal: `/api/watch/{ticket}`. A browser's
 * WebSocket cannot send the instructor token, so the dashboard first asks for a ticket with it
 * (POST /api/instructor/classes/{code}/students/{member}/watch): single use, valid 30 s, bound to
 * one session. The socket reads nothing from the viewer: no byte of input reaches the shell.
 */
export class WatchSockets {
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: 1024,
    perMessageDeflate: false,
  });
  private readonly tickets = new Map<string, { sessionId: string; expiresAt: number }>();

  private readonly sessions: SessionManager;
  private readonly allowedOrigins: () => Set<string>;

  /** `allowedOrigins`: the configured public origin and the extra ones (http/origin.ts), never the request's Host. */
  constructor(sessions: SessionManager, allowedOrigins: () => Set<string>) {
    this.sessions = sessions;
    this.allowedOrigins = allowedOrigins;
  }

  ticket(sessionId: string): string {
    const now = Date.now();
    for (const [id, t] of this.tickets) if (t.expiresAt < now) this.tickets.delete(id);
    const id = randomBytes(16).toString("hex");
    this.tickets.set(id, { sessionId, expiresAt: now + TICKET_TTL_MS });
    return id;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const match = WATCH_PATH.exec(new URL(req.url ?? "/", "http://x").pathname);
    if (!match) return false;
    const reject = (status: number, message: string) =>
      socket.end(
        `HTTP/1.1 ${status} ${message}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`,
      );
    if (!originAllowed(req, this.allowedOrigins())) {
      reject(403, "Forbidden origin");
      return true;
    }
    const ticket = this.tickets.get(match[1]!);
    this.tickets.delete(match[1]!);
    const session =
      ticket && ticket.expiresAt >= Date.now() ? this.sessions.get(ticket.sessionId) : undefined;
    const terminal = session?.owner ? session.terminal : undefined;
    if (!terminal) {
      reject(404, "No such ticket or session");
      return true;
    }
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const viewer: TerminalClient = {
        sendOutput: (data) =>
          ws.readyState === ws.OPEN &&
          ws.bufferedAmount < VIEWER_MAX_BUFFERED &&
          ws.send(data, { binary: true }),
        sendControl: (message) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(message)),
        close: (code, reason) => ws.close(code, reason),
      };
      // Read-only: whatever the viewer sends is dropped here, never written to the shell.
      ws.on("message", () => undefined);
      ws.on("close", () => terminal.unwatch(viewer));
      ws.on("error", () => terminal.unwatch(viewer));
      void terminal.watch(viewer).catch(() => ws.close(1011, "the terminal could not be read"));
    });
    return true;
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
