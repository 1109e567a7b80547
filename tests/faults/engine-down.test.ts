/**
 * The Docker engine goes away with live sessions (here: the server's DOCKER_HOST is a relay this
 * test stops, connections and all). The server stays up and says so everywhere the student looks:
 * /api/health 503, POST /api/sessions 503 quickly, the open terminal an `error` message, the
 * student's docker CLI "the Docker engine is not answering right now". Back again, everything works.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, connect, type Server as NetServer, type Socket } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";
import { PROMPT, TerminalClient } from "../../tools/terminal-client.ts";
import { runInWorkstation } from "../../sandbox/sessions/workstation-exec.ts";
import { engineFrom } from "../../sandbox/docker/engine.ts";

/** The engine the tests run on (DOCKER_HOST, a unix socket here), which the relay stands in front of. */
const ENGINE_SOCKET = new URL(process.env.DOCKER_HOST || "unix:///var/run/docker.sock").pathname;

/** A unix socket that pipes each connection to the real engine, until stopped. */
class Relay {
  private server: NetServer | undefined;
  private readonly sockets = new Set<Socket>();
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
  async start(): Promise<void> {
    await rm(this.path, { force: true });
    this.server = createServer({ allowHalfOpen: true }, (client) => {
      const engine = connect({ path: ENGINE_SOCKET, allowHalfOpen: true });
      for (const s of [client, engine]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          engine.destroy();
        });
      }
      client.pipe(engine).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
  }
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    await rm(this.path, { force: true });
  }
}

// The engine the tests run on (DOCKER_HOST, as the server under test reads it).
const realEngine = engineFrom(process.env.DOCKER_HOST || "unix:///var/run/docker.sock", {
  concurrentStarts: 1,
}).docker;
type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let relay: Relay;
let relayDir = "";
let student: ApiClient;
let id = "";
let terminal: TerminalClient | undefined;
/** The same instance started again on the same data folder (the last test). */
let restarted: Server | undefined;

beforeAll(async () => {
  relayDir = await mkdtemp(join(tmpdir(), "stowage-relay-"));
  relay = new Relay(join(relayDir, "docker.sock"));
  await relay.start();
  server = await startTestServer({ dockerHost: `unix://${relay.path}` });
  student = new ApiClient(server.url);
  id = (await student.call("POST", "/api/sessions")).body.id;
});

afterAll(async () => {
  await terminal?.close();
  await relay?.start().catch(() => undefined); // the server cleans up through it
  await restarted?.close();
  await server?.close();
  await relay?.stop();
  await rm(relayDir, { recursive: true, force: true });
});

const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
  const t0 = Date.now();
  const value = await run();
  return [value, Date.now() - t0];
};

describe("the Docker engine goes away and comes back", () => {
  it("before: a live session with a running container and an open terminal", async () => {
    const r = await studentShell(
      server,
      id,
      "docker run -d --name web busybox sleep 600 >/dev/null && echo ok",
    );
    expect(r.stdout.trim(), r.output).toBe("ok");
    terminal = await TerminalClient.open(server.url, id, student.cookie);
    await terminal.waitFor(PROMPT, 20_000);
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  });

  it("engine gone: health 503, new sessions 503 at once, the terminal and the CLI say so", async () => {
    await relay.stop();

    const [health, healthMs] = await timed(() =>
      new ApiClient(server.url).call("GET", "/api/health"),
    );
    expect(health.status).toBe(503);
    expect(health.body.ok).toBe(false);
    expect(health.body.message).toMatch(/does not answer/);
    expect(healthMs).toBeLessThan(5000);

    const [created, createMs] = await timed(() =>
      new ApiClient(server.url).call("POST", "/api/sessions"),
    );
    console.log(
      `engine down: health ${healthMs} ms, POST /api/sessions ${createMs} ms -> ${created.status} ${JSON.stringify(created.body)}`,
    );
    expect(created.status).toBe(503);
    expect(created.body.error).toMatch(/the Docker engine is not answering/);
    expect(createMs).toBeLessThan(5000);

    // The open terminal is told (its exec stream went with the engine).
    const deadline = Date.now() + 5000;
    while (!terminal!.controls.some((c) => c.type === "error") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const error = terminal!.controls.find((c) => c.type === "error");
    expect(error?.message).toMatch(/the Docker engine is not answering/);
    // A key pressed now gets the same answer, not silence.
    terminal!.controls = [];
    terminal!.type("x");
    const again = Date.now() + 5000;
    while (!terminal!.controls.some((c) => c.type === "error") && Date.now() < again)
      await new Promise((r) => setTimeout(r, 50));
    expect(terminal!.controls.find((c) => c.type === "error")?.message).toMatch(/not answering/);

    // The student's docker CLI (reached here straight through the real engine) gets the proxy's 503.
    const workstation = server.sessions.get(id)!.workstationId!;
    const [cli, cliMs] = await timed(() =>
      runInWorkstation(realEngine, workstation, "docker ps; echo rc=$?", { timeoutMs: 20_000 }),
    );
    expect(cli.output).toMatch(/the Docker engine is not answering right now/);
    expect(cli.stdout).toMatch(/rc=1/);
    expect(cliMs).toBeLessThan(10_000);

    // The server itself still answers what does not need the engine.
    expect((await student.call("GET", `/api/sessions/${id}`)).status).toBe(200);
    expect((await student.call("GET", "/api/progress")).status).toBe(200);
  }, 60_000);

  it("engine back: health 200, the old session's shell comes back, a new session starts and works", async () => {
    await relay.start();
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (
      Date.now() < deadline &&
      (status = (await fetch(`${server.url}/api/health`)).status) !== 200
    )
      await new Promise((r) => setTimeout(r, 250));
    expect(status).toBe(200);

    // A key brings the old session's shell back; its container is still there.
    const from = terminal!.output.length;
    terminal!.type("\r");
    await terminal!.waitFor(PROMPT, 20_000, from);
    terminal!.type("docker ps --format '{{.Names}}:ok'\r");
    await terminal!.waitFor(/web:ok/, 20_000, from);

    const other = new ApiClient(server.url);
    const created = await other.call("POST", "/api/sessions");
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const r = await studentShell(
      server,
      created.body.id,
      "docker run --rm busybox echo hello-after && docker volume create v >/dev/null && echo ok",
    );
    expect(r.stdout, r.output).toMatch(/hello-after\nok/);
    expect((await other.call("DELETE", `/api/sessions/${created.body.id}`)).status).toBe(204);
  }, 60_000);

  it("a server restarted while the engine is down adopts its sessions once the engine answers", async () => {
    await terminal?.close();
    terminal = undefined;
    // The server dies (as kill -9: nothing ended) and the engine is down when it starts again.
    server.server.closeAllConnections();
    server.server.close();
    server.sessions.events.stop();
    await server.claim.release();
    await relay.stop();
    restarted = await startTestServer({
      instance: server.config.instance,
      dataDir: server.dataDir,
      dockerHost: `unix://${relay.path}`,
    });
    expect(restarted.sessions.get(id)).toBeUndefined(); // nothing to adopt it from yet
    await relay.start();
    await expect.poll(() => restarted!.sessions.get(id)?.owner, { timeout: 20_000 }).toBeTruthy();
    const again = await fetch(`${restarted.url}/api/sessions`, {
      method: "POST",
      headers: { cookie: student.cookie },
    });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(id);
    const r = await studentShell(restarted, id, "docker ps --format '{{.Names}}:kept'");
    expect(r.stdout, r.output).toMatch(/web:kept/);
  }, 60_000);
});
