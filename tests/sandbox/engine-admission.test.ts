import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer } from "../../tools/sandbox-server.ts";
import { runInWorkstation } from "../../sandbox/sessions/workstation-exec.ts";
import { PROMPT, TerminalClient } from "../../tools/terminal-client.ts";

/**
 * Container starts are admitted a few at a time across the class (sandbox/docker/engine-admission.ts):
 * two sessions starting six containers each, all at once, through their own docker CLI.
 */
type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;

beforeAll(async () => {
  server = await startTestServer({ engineStarts: 1 });
});
afterAll(async () => {
  await server?.close();
});

const SIX = "1 2 3 4 5 6";

describe("engine admission", () => {
  it("queues a class's parallel container starts one at a time, and starts every one of them", async () => {
    const sessions = await Promise.all(
      [0, 1].map(async () => {
        const client = new ApiClient(server.url);
        const { body } = await client.call("POST", "/api/sessions");
        const session = server.sessions.get(body.id)!;
        const made = await runInWorkstation(
          server.engine.docker,
          session.workstationId!,
          `for i in ${SIX}; do docker create --name c$i busybox sleep 300 >/dev/null || exit 1; done; echo made`,
          { timeoutMs: 60_000 },
        );
        expect(made.exitCode, made.output).toBe(0);
        return { client, id: body.id as string, workstationId: session.workstationId! };
      }),
    );

    let maxRunning = 0,
      maxWaiting = 0,
      sawQueueInHealth = false;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { running, waiting } = server.engine.starts.load;
        maxRunning = Math.max(maxRunning, running);
        maxWaiting = Math.max(maxWaiting, waiting);
        if (waiting > 0 && !sawQueueInHealth) {
          const health = await sessions[0]!.client.call("GET", "/api/health");
          sawQueueInHealth ||=
            health.body.starts?.slots === 1 &&
            health.body.starts.running + health.body.starts.waiting > 0;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const started = await Promise.all(
      sessions.map((s) =>
        runInWorkstation(
          server.engine.docker,
          s.workstationId,
          `for i in ${SIX}; do docker start c$i >/dev/null & done; wait; docker ps --filter status=running --format '{{.Names}}' | sort | tr '\\n' ' '`,
          { timeoutMs: 120_000 },
        ),
      ),
    );
    sampling = false;
    await sampler;

    for (const result of started) {
      expect(result.exitCode, result.output).toBe(0);
      expect(result.output.trim()).toBe("c1 c2 c3 c4 c5 c6");
    }
    expect(maxRunning).toBe(1);
    expect(maxWaiting).toBeGreaterThanOrEqual(2);
    expect(sawQueueInHealth).toBe(true);
    expect(server.engine.starts.load).toEqual({ running: 0, waiting: 0 });
    await Promise.all(sessions.map((s) => s.client.call("DELETE", `/api/sessions/${s.id}`)));
  });

  it("does not hold a start slot while a restart waits for its container to stop", async () => {
    const clients = [new ApiClient(server.url), new ApiClient(server.url)];
    const opened = await Promise.all(
      clients.map(async (client) => {
        const { body } = await client.call("POST", "/api/sessions");
        return {
          client,
          id: body.id as string,
          workstationId: server.sessions.get(body.id)!.workstationId!,
        };
      }),
    );
    const slow = opened[0]!,
      quick = opened[1]!;
    // PID 1 without an init ignores SIGTERM: the restart waits out its whole -t 8 grace period.
    const made = await runInWorkstation(
      server.engine.docker,
      slow.workstationId,
      "docker run -d --name stubborn busybox sleep 300 >/dev/null && echo ok",
      { timeoutMs: 60_000 },
    );
    expect(made.exitCode, made.output).toBe(0);
    const other = await runInWorkstation(
      server.engine.docker,
      quick.workstationId,
      "docker create --name quick busybox sleep 300 >/dev/null && echo ok",
      { timeoutMs: 60_000 },
    );
    expect(other.exitCode, other.output).toBe(0);

    // The engine's kill event (SIGTERM) says the restart has begun and now waits for the stop.
    const events = (await server.engine.docker.getEvents({
      filters: {
        container: [server.sessions.get(slow.id)!.scope.engineName("stubborn")],
        event: ["kill"],
      },
    })) as NodeJS.ReadableStream & { destroy(): void };
    const killed = new Promise<void>((resolve) => events.once("data", () => resolve()));
    const restart = runInWorkstation(
      server.engine.docker,
      slow.workstationId,
      "docker restart -t 8 stubborn >/dev/null && date +%s%N",
      { timeoutMs: 60_000 },
    );
    await killed;
    events.destroy();
    const start = await runInWorkstation(
      server.engine.docker,
      quick.workstationId,
      "docker start quick >/dev/null && date +%s%N",
      { timeoutMs: 60_000 },
    );
    const restarted = await restart;
    expect(start.exitCode, start.output).toBe(0);
    expect(restarted.exitCode, restarted.output).toBe(0);
    // The other session's start finished while the restart was still waiting for its stop.
    expect(BigInt(start.output.trim())).toBeLessThan(BigInt(restarted.output.trim()));
    const running = await runInWorkstation(
      server.engine.docker,
      slow.workstationId,
      "docker ps --filter name=stubborn --format '{{.Status}}'",
      { timeoutMs: 30_000 },
    );
    expect(running.output).toMatch(/^Up /);
    await Promise.all([slow, quick].map((s) => s.client.call("DELETE", `/api/sessions/${s.id}`)));
  }, 90_000);

  it("tells the student in their terminal when their start waits for the engine, then starts it", async () => {
    const client = new ApiClient(server.url);
    const { body } = await client.call("POST", "/api/sessions");
    const term = await TerminalClient.open(server.url, body.id, client.cookie);
    await term.waitFor(PROMPT);
    // The class's only slot is busy for 4 s (as if another student's start were slow).
    const held = server.engine.starts.run(
      "another-session",
      () => new Promise((resolve) => setTimeout(resolve, 4000)),
    );
    const mark = term.output.length;
    term.type("docker run --rm busybox echo started-after-queue\r");
    await term.waitFor(/started-after-queue\r?\n/, 30_000, mark);
    await held;
    const notice = term.controls.find((c) => c.type === "notice");
    expect(notice?.message).toMatch(/busy starting containers for this class \(\d+ waiting\)/);
    expect(term.output.slice(mark)).toMatch(/\[sandbox\] the engine is busy starting containers/);
    await term.close();
    await client.call("DELETE", `/api/sessions/${body.id}`);
  }, 60_000);
});
