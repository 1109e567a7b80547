/** The terminal over the real WebSocket: prompt, round trip, resize, reattach, flow control. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer } from "../../tools/sandbox-server.ts";
import { PROMPT, TerminalClient } from "../../tools/terminal-client.ts";
import { HIGH_WATER, OUTPUT_BYTES_PER_SECOND } from "../../sandbox/terminal/terminal-session.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let api: ApiClient;
let sessionId: string;

beforeAll(async () => {
  server = await startTestServer();
  api = new ApiClient(server.url);
  sessionId = (await api.call("POST", "/api/sessions")).body.id;
});
afterAll(async () => {
  await server?.close();
});

describe("the terminal WebSocket", () => {
  it("shows a prompt, runs a command and resizes", async () => {
    const term = await TerminalClient.open(server.url, sessionId, api.cookie);
    await term.waitFor(PROMPT);
    term.type("echo round-$((6*7))-trip\r");
    await term.waitFor(/round-42-trip/);
    term.send({ type: "resize", cols: 123, rows: 45 });
    await new Promise((r) => setTimeout(r, 200));
    const mark = term.output.length;
    term.type("stty size\r");
    await term.waitFor(/45 123/, 10_000, mark);
    await term.close();
  });

  it("runs an interactive container (docker run -it) in the terminal", async () => {
    const term = await TerminalClient.open(server.url, sessionId, api.cookie);
    await term.waitFor(PROMPT);
    term.type("docker run -it --rm --name inner busybox sh\r");
    await term.waitFor(/\/ # /, 20_000);
    const mark = term.output.length;
    term.type("echo inside-$((40+2))\r");
    await term.waitFor(/inside-42/, 10_000, mark);
    term.type("exit\r");
    await term.waitFor(PROMPT, 10_000, mark);
    await term.close();
  });

  it("detaches from docker run -it with Ctrl-P Ctrl-Q and keeps the student's shell", async () => {
    const term = await TerminalClient.open(server.url, sessionId, api.cookie);
    await term.waitFor(PROMPT);
    let mark = term.output.length; // after the redraw of the earlier tests' screen
    term.type("docker run -it --name detachable busybox sh\r");
    await term.waitFor(/\/ # /, 20_000, mark);
    mark = term.output.length;
    term.type("\x10\x11"); // Ctrl-P Ctrl-Q: detach from the container, as the Docker docs teach
    // The student's own prompt comes back: their shell did not end.
    await term.waitFor(PROMPT, 10_000, mark);
    expect(term.controls.some((c) => c.type === "exit")).toBe(false);
    mark = term.output.length;
    term.type(
      "docker ps --format '{{.Names}} {{.State}}'; docker rm -f detachable >/dev/null; echo shell-$((20+22))\r",
    );
    await term.waitFor(/detachable running[\s\S]*shell-42/, 15_000, mark);
    await term.close();
  });

  it("redraws the same screen when the page reconnects", async () => {
    const first = await TerminalClient.open(server.url, sessionId, api.cookie);
    await first.waitFor(PROMPT);
    first.type("echo before-reload-marker\r");
    await first.waitFor(/before-reload-marker\r?\n/);
    await first.close();
    const second = await TerminalClient.open(server.url, sessionId, api.cookie);
    await second.waitFor(/before-reload-marker/, 5000);
    await second.close();
  });

  it("refuses other learners and other origins", async () => {
    const stranger = new ApiClient(server.url);
    await stranger.call("GET", "/api/health");
    await expect(TerminalClient.open(server.url, sessionId, stranger.cookie)).rejects.toThrow(
      /404/,
    );
    await expect(
      TerminalClient.open(server.url, sessionId, api.cookie, "http://evil.example"),
    ).rejects.toThrow(/403/);
  });

  it("stops the shell when the browser stops acknowledging a flood, and resumes on ack", async () => {
    const term = await TerminalClient.open(server.url, sessionId, api.cookie);
    await term.waitFor(PROMPT);
    term.autoAck = false;
    const start = term.received;
    term.type("yes flood-line\r");
    await new Promise((r) => setTimeout(r, 2000));
    const afterFlood = term.received - start;
    await new Promise((r) => setTimeout(r, 1000));
    const stillPaused = term.received - start;
    // One read past the high-water mark at most, then nothing more until acknowledged.
    expect(afterFlood).toBeGreaterThan(HIGH_WATER / 2);
    expect(stillPaused - afterFlood).toBeLessThan(64 * 1024);
    expect(stillPaused).toBeLessThan(HIGH_WATER + 256 * 1024);
    term.send({ type: "ack", bytes: term.received });
    await new Promise((r) => setTimeout(r, 500));
    expect(term.received - start).toBeGreaterThan(stillPaused);
    term.autoAck = true;
    term.send({ type: "ack", bytes: term.received });
    term.type("\x03");
    const mark = term.output.length;
    term.type("echo flood-over\r");
    await term.waitFor(/flood-over\r?\n/, 20_000, mark);
    await term.close();
  });

  it("passes a flood on at the terminal's output rate, not as fast as the shell writes it", async () => {
    const term = await TerminalClient.open(server.url, sessionId, api.cookie);
    await term.waitFor(PROMPT);
    term.type("yes rate-line\r");
    await term.waitFor(/rate-line\r?\n/);
    const start = term.received;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 3000));
    const rate = (term.received - start) / ((performance.now() - t0) / 1000);
    term.type("\x03");
    const mark = term.output.length;
    term.type("echo rate-over\r");
    await term.waitFor(/rate-over\r?\n/, 20_000, mark);
    await term.close();
    // Acknowledged at once, a flood still flows, at no more than the budget (plus the last read of each window).
    expect(rate).toBeGreaterThan(OUTPUT_BYTES_PER_SECOND / 4);
    expect(rate).toBeLessThan(OUTPUT_BYTES_PER_SECOND * 1.25);
  });

  it("starts a new shell after the student types exit", async () => {
    const term = await TerminalClient.open(server.url, sessionId, api.cookie);
    await term.waitFor(PROMPT);
    term.type("exit\r");
    const deadline = Date.now() + 5000;
    while (!term.controls.some((c) => c.type === "exit") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(term.controls.some((c) => c.type === "exit")).toBe(true);
    term.type("\r");
    const mark = term.output.length;
    await term.waitFor(PROMPT, 10_000, mark);
    await term.close();
  });
});
