import WebSocket from "ws";

/** The student's prompt (colours and, after a redraw, cursor moves may surround it). */
export const PROMPT = /student@stowage:~\$ /;

/** A terminal WebSocket client like the browser's: collects output, acks it, sends keys. */
export class TerminalClient {
  readonly ws: WebSocket;
  output = "";
  received = 0;
  controls: Record<string, unknown>[] = [];
  autoAck = true;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        this.output += data.toString("utf8");
        this.received += data.length;
        if (this.autoAck) ws.send(JSON.stringify({ type: "ack", bytes: data.length }));
      } else {
        this.controls.push(JSON.parse(data.toString("utf8")));
      }
    });
  }

  static open(
    baseUrl: string,
    sessionId: string,
    cookie: string,
    origin = baseUrl,
  ): Promise<TerminalClient> {
    const ws = new WebSocket(
      `${baseUrl.replace("http", "ws")}/api/sessions/${sessionId}/terminal`,
      { headers: { cookie, origin } },
    );
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new TerminalClient(ws)));
      ws.once("unexpected-response", (_req, res) =>
        reject(new Error(`refused with ${res.statusCode}`)),
      );
      ws.once("error", reject);
    });
  }

  type(text: string): void {
    this.ws.send(Buffer.from(text), { binary: true });
  }

  send(control: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(control));
  }

  /**
   * Waits until the output (since `from`) matches, or fails with what was seen. Tested on each
   * frame as it arrives, not by polling, so the abuse figures measure the echo and not a timer.
   */
  waitFor(pattern: RegExp, timeoutMs = 15_000, from = 0): Promise<RegExpMatchArray> {
    const now = this.output.slice(from).match(pattern);
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const onFrame = () => {
        const match = this.output.slice(from).match(pattern);
        if (!match) return;
        done();
        resolve(match);
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`timed out waiting for ${pattern}; output was:\n${this.output.slice(-2000)}`),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.ws.off("message", onFrame);
      };
      // Registered after the constructor's listener, so the output already holds this frame.
      this.ws.on("message", onFrame);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once("close", () => resolve());
      this.ws.close();
    });
  }
}
