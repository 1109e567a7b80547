/**
 * 300 sessions created and destroyed, 6 at a time, on the real engine: some run containers,
 * volumes, networks and a compose project with a named volume; some are abandoned with their
 * terminal WebSocket left open and are ended by the server's idle timeout. Afterwards nothing of
 * them is left: no container, volume or network with the test's instance label, no session folder,
 * no proxy socket; the server's RSS is printed along the way (and must not have grown unboundedly).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";
import { PROMPT, TerminalClient } from "../../tools/terminal-client.ts";

const TOTAL = Number(process.env.STOWAGE_LEAK_SESSIONS ?? 300);
const CONCURRENCY = 6;
const IDLE_SECONDS = 10;

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
const abandoned: TerminalClient[] = [];

beforeAll(async () => {
  server = await startTestServer({ idleTimeoutSeconds: IDLE_SECONDS });
});
afterAll(async () => {
  for (const t of abandoned) t.ws.terminate();
  await server?.close();
});

const COMPOSE = `services:
  app:
    image: busybox
    command: sleep 600
    volumes: [data:/data]
volumes:
  data: {}
`;

/** What session number i does before it ends. */
async function oneSession(i: number): Promise<"deleted" | "abandoned"> {
  const client = new ApiClient(server.url);
  const created = await client.call("POST", "/api/sessions");
  if (created.status !== 201)
    throw new Error(`session ${i}: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.id as string;
  const kind = i % 10;
  if (kind === 0) {
    const r = await studentShell(
      server,
      id,
      `mkdir -p proj && cat > proj/compose.yaml <<'YAML'\n${COMPOSE}YAML\ncd proj && { docker compose up -d >/tmp/up.log 2>&1 || cat /tmp/up.log; } && docker compose ps -q | wc -l`,
      60_000,
    );
    if (r.stdout.trim().split("\n").pop() !== "1")
      throw new Error(`session ${i}: compose up failed: ${r.output}`);
  } else if (kind === 1 || kind === 2) {
    const r = await studentShell(
      server,
      id,
      "docker volume create keep >/dev/null && docker network create n1 >/dev/null && docker run -d --name web --network n1 -v keep:/d -v /data busybox sleep 600 >/dev/null && echo ok",
      60_000,
    );
    if (r.stdout.trim() !== "ok") throw new Error(`session ${i}: setup failed: ${r.output}`);
  } else if (kind === 3) {
    // Abandoned: the terminal stays open, nobody types; the idle timeout ends it.
    const terminal = await TerminalClient.open(server.url, id, client.cookie);
    await terminal.waitFor(PROMPT, 30_000);
    terminal.type("docker run -d busybox sleep 600\r");
    await terminal.waitFor(/[0-9a-f]{64}/, 30_000);
    abandoned.push(terminal);
    return "abandoned";
  } else if (kind === 4) {
    const r = await studentShell(
      server,
      id,
      "echo hello > ~/notes && docker volume create v >/dev/null && echo ok",
    );
    if (r.stdout.trim() !== "ok") throw new Error(`session ${i}: ${r.output}`);
  }
  const deleted = await client.call("DELETE", `/api/sessions/${id}`);
  if (deleted.status !== 204) throw new Error(`session ${i}: DELETE answered ${deleted.status}`);
  return "deleted";
}

const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

describe("many sessions leave nothing behind", () => {
  it(
    `${TOTAL} sessions, ${CONCURRENCY} at a time`,
    async () => {
      const started = Date.now();
      const rss: number[] = [process.memoryUsage().rss];
      let next = 0;
      let done = 0;
      const counts = { deleted: 0, abandoned: 0 };
      const worker = async () => {
        while (next < TOTAL) {
          const i = next++;
          counts[await oneSession(i)]++;
          if (++done % 50 === 0) {
            rss.push(process.memoryUsage().rss);
            console.log(
              `leaks: ${done}/${TOTAL} sessions after ${((Date.now() - started) / 1000).toFixed(0)} s, ${server.sessions.count} live, rss ${mb(rss.at(-1)!)}`,
            );
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const churnSeconds = (Date.now() - started) / 1000;

      // The abandoned ones end by the idle timeout (sweep every 5 s), their sockets closed by the server.
      const deadline = Date.now() + (IDLE_SECONDS + 60) * 1000;
      while (server.sessions.count > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 500));
      expect(server.sessions.count).toBe(0);
      const closeDeadline = Date.now() + 10_000;
      while (abandoned.some((t) => t.ws.readyState !== t.ws.CLOSED) && Date.now() < closeDeadline)
        await new Promise((r) => setTimeout(r, 200));
      expect(
        abandoned.filter((t) => t.ws.readyState !== t.ws.CLOSED).length,
        "abandoned terminals closed by the server",
      ).toBe(0);

      const docker = server.engine.docker;
      const filters = { label: [`stowage.instance=${server.config.instance}`] };
      const left = {
        containers: (await docker.listContainers({ all: true, filters })).map((c) => c.Names[0]),
        volumes: ((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name),
        networks: (await docker.listNetworks({ filters })).map((n) => n.Name),
        folders: await readdir(join(server.dataDir, "sessions")),
        sockets: (await readdir(server.dataDir, { recursive: true, withFileTypes: true }))
          .filter((e) => e.isSocket())
          .map((e) => join(e.parentPath, e.name)),
        // Each session's home is mounted a second time (the bind view): none may stay mounted.
        mounts: (await readFile("/proc/self/mountinfo", "utf8"))
          .split("\n")
          .map((l) => l.split(" ")[4] ?? "")
          .filter((p) => p.startsWith(server.dataDir + "/")),
        // Each session's cgroup (sessions/session-cgroup.ts), in the memory hierarchy (v1) or the one tree (v2).
        cgroups: (
          await readdir(
            existsSync("/sys/fs/cgroup/cgroup.controllers")
              ? `/sys/fs/cgroup/stowage/${server.config.instance}`
              : `/sys/fs/cgroup/memory/stowage/${server.config.instance}`,
            { withFileTypes: true },
          ).catch(() => [])
        )
          .filter((e) => e.isDirectory())
          .map((e) => e.name),
      };
      expect(left).toEqual({
        containers: [],
        volumes: [],
        networks: [],
        folders: [],
        sockets: [],
        mounts: [],
        cgroups: [],
      });

      (globalThis as { gc?: () => void }).gc?.();
      rss.push(process.memoryUsage().rss);
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `leaks: ${TOTAL} sessions (${counts.deleted} deleted by their owner, ${counts.abandoned} abandoned and ended by the idle timeout) in ${churnSeconds.toFixed(0)} s of churn, ${seconds.toFixed(0)} s in all; rss ${rss.map(mb).join(" -> ")}`,
      );
      expect(counts.deleted + counts.abandoned).toBe(TOTAL);
      // Unbounded growth would be ~MBs per session; allow the mirrors' and caches' steady state.
      expect(rss.at(-1)! - rss[0]!).toBeLessThan(400 * 1024 * 1024);
    },
    15 * 60_000,
  );
});
