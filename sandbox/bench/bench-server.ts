/**
 * The server under test, in its own process (forked by bench.ts with an IPC channel), so its
 * resident memory is its own and the bench's clients (the "browsers") do not share its event
 * loop. Answers a few questions over IPC: the pool's fill, a session's workstation, its RSS.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { startTestServer } from "../../tools/sandbox-server.ts";
import type { Config } from "../config.ts";

type Request = { id: number; op: string; args?: unknown };

const overrides = JSON.parse(process.env.BENCH_SERVER_CONFIG ?? "{}") as Partial<Config>;
const server = await startTestServer(overrides);

const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const handlers: Record<string, (args: unknown) => unknown> = {
  /** The server's event-loop delay (ms) since the last reset, and its CPU time so far. */
  eventLoop: (reset: unknown) => {
    const result = {
      p50: loop.percentile(50) / 1e6,
      p99: loop.percentile(99) / 1e6,
      max: loop.max / 1e6,
      cpu: process.cpuUsage(),
    };
    if (reset) loop.reset();
    return result;
  },
  info: () => ({ url: server.url, pid: process.pid, poolSize: server.config.poolSize }),
  pooled: () => server.sessions.pooled,
  count: () => server.sessions.count,
  /** Container starts running and queued (docker/engine-admission.ts), without asking the engine anything. */
  starts: () => ({ ...server.engine.starts.load, slots: server.engine.starts.slots }),
  workstation: (sessionId: unknown) => server.sessions.get(String(sessionId))?.workstationId,
  /** The engine a session was placed on, by name. */
  engineOf: (sessionId: unknown) => server.sessions.get(String(sessionId))?.engine.name,
  /** Drains every engine but the one named: new sessions go there. */
  onlyEngine: (name: unknown) => {
    for (const engine of server.sessions.fleet.engines)
      server.sessions.setDraining(engine, engine.name !== name);
    return true;
  },
  memory: () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
  },
  close: async () => {
    await server.close();
    setImmediate(() => process.exit(0));
    return true;
  },
};

process.on("message", async (message: Request) => {
  try {
    const result = await handlers[message.op]!(message.args);
    process.send!({ id: message.id, result });
  } catch (error) {
    process.send!({ id: message.id, error: (error as Error).message });
  }
});
process.on("disconnect", () => void server.close().finally(() => process.exit(0)));
process.send!({ id: 0, result: "ready" });
