/**
 * The server under test, in its own process (forked by bench.ts with an IPC channel), so its
 * resident memory is its own and the bench's clients (the "browsers") do not share its event
 * loop. Answers a few questions over IPC: the pool's fill, a session's workstation, its RSS.
 *
 * BENCH_SUBNETS=1 makes every session network take a /26 from 10.213.0.0/16 (1024 of them)
 * instead of the engine's default address pools, which hold about 30 bridge networks on a
 * default daemon (15 × /16 in 172.17-31 and 16 × /20 in 192.168): without it the ramp to 300
 * idle sessions stops near 30, and it would starve everyone else's tests of networks. This is
 * the change proposed for the session manager in docs/benchmarks.md.
 */
import Docker from "dockerode";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { startTestServer } from "../../tests/helpers/sandbox-server.ts";
import type { Config } from "../config.ts";

type Request = { id: number; op: string; args?: unknown };
type NetworkOptions = { Name?: string; IPAM?: unknown } & Record<string, unknown>;

if (process.env.BENCH_SUBNETS === "1") {
  const original = Docker.prototype.createNetwork as unknown as (options: NetworkOptions) => Promise<unknown>;
  let next = 0;
  (Docker.prototype as unknown as { createNetwork: typeof original }).createNetwork = async function (this: Docker, options: NetworkOptions) {
    if (options?.IPAM || !String(options?.Name ?? "").startsWith("stw-")) return original.call(this, options);
    for (let tries = 0; tries < 1024; tries++) {
      const index = next++ % 1024;
      const subnet = `10.213.${index >> 2}.${(index & 3) * 64}/26`;
      try {
        return await original.call(this, { ...options, IPAM: { Driver: "default", Config: [{ Subnet: subnet }] } });
      } catch (error) {
        if (!/overlap|in use|pool/i.test((error as Error).message)) throw error;
      }
    }
    throw new Error("bench: no free /26 in 10.213.0.0/16");
  };
  // Round-robin: a /26 still in use (overlap) is skipped, a freed one comes round again.
}

const overrides = JSON.parse(process.env.BENCH_SERVER_CONFIG ?? "{}") as Partial<Config>;
const server = await startTestServer(overrides);

const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const handlers: Record<string, (args: unknown) => unknown> = {
  /** The server's event-loop delay (ms) since the last reset, and its CPU time so far. */
  eventLoop: (reset: unknown) => {
    const result = { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6, cpu: process.cpuUsage() };
    if (reset) loop.reset();
    return result;
  },
  info: () => ({ url: server.url, pid: process.pid, poolSize: server.config.poolSize }),
  pooled: () => server.sessions.pooled,
  count: () => server.sessions.count,
  workstation: (sessionId: unknown) => server.sessions.get(String(sessionId))?.workstationId,
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
