/**
 * `npm run bench`: session start, keystroke echo and memory per idle session, measured on the
 * real engine in one run and written to docs/benchmarks.md with the machine and the date.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { promisify } from "node:util";
import { ApiClient, startTestServer } from "../../tests/helpers/sandbox-server.ts";
import { TerminalClient } from "../../tests/helpers/terminal-client.ts";
import { WORKSTATION_IMAGE } from "../images/catalog.ts";

const run = promisify(execFile);
const SESSIONS = 20;
const ECHO_SAMPLES = 300;
const IDLE_SESSIONS = 10;

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const ms = (n: number) => `${n.toFixed(1)} ms`;
const log = (line: string) => process.stderr.write(`${line}\n`);

/** POST /api/sessions to the first byte of the prompt on the WebSocket, `SESSIONS` times. */
async function readyTimes(server: Awaited<ReturnType<typeof startTestServer>>, fromPool: boolean): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    while (fromPool && server.sessions.pooled < server.config.poolSize) await new Promise((r) => setTimeout(r, 50));
    const api = new ApiClient(server.url);
    const started = performance.now();
    const { body } = await api.call("POST", "/api/sessions");
    const term = await TerminalClient.open(server.url, body.id, api.cookie);
    await term.waitFor(/./s, 20_000);
    times.push(performance.now() - started);
    await term.close();
    await api.call("DELETE", `/api/sessions/${body.id}`);
  }
  return times;
}

log(`session ready time over ${SESSIONS} sessions, from the warm pool...`);
const pooledServer = await startTestServer({ createPerMinute: 10_000, maxSessions: 1000, poolSize: 2 });
const pooled = await readyTimes(pooledServer, true).finally(() => pooledServer.close());

const server = await startTestServer({ createPerMinute: 10_000, maxSessions: 1000 });
try {
  // 1. Session ready, cold (no pool).
  log(`session ready time over ${SESSIONS} sessions, cold...`);
  const ready = await readyTimes(server, false);

  log("bare docker run --rm of the workstation image...");
  const bare: number[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const started = performance.now();
    await run("docker", ["run", "--rm", WORKSTATION_IMAGE, "true"]);
    bare.push(performance.now() - started);
  }

  // 2. Keystroke echo: one key at a time, time until the shell echoes it back.
  log(`keystroke echo over ${ECHO_SAMPLES} keys...`);
  const api = new ApiClient(server.url);
  const { body } = await api.call("POST", "/api/sessions");
  const term = await TerminalClient.open(server.url, body.id, api.cookie);
  await term.waitFor(/student@stowage:~\$ /);
  const echo: number[] = [];
  for (let i = 0; i < ECHO_SAMPLES; i++) {
    const key = i % 2 === 0 ? "x" : "\x7f";
    const before = term.received;
    const started = performance.now();
    term.type(key);
    while (term.received === before) await new Promise((r) => setImmediate(r));
    echo.push(performance.now() - started);
  }
  await term.close();
  await api.call("DELETE", `/api/sessions/${body.id}`);

  // 3. Host memory per idle session: each session's containers' cgroups and its shims.
  log(`memory of ${IDLE_SESSIONS} idle sessions with their shells running...`);
  const rssBefore = process.memoryUsage().rss;
  const idle: { id: string; term: TerminalClient; api: ApiClient }[] = [];
  for (let i = 0; i < IDLE_SESSIONS; i++) {
    const client = new ApiClient(server.url);
    const created = await client.call("POST", "/api/sessions");
    const t = await TerminalClient.open(server.url, created.body.id, client.cookie);
    await t.waitFor(/student@stowage:~\$ /);
    idle.push({ id: created.body.id, term: t, api: client });
  }
  await new Promise((r) => setTimeout(r, 3000));
  const perSession: number[] = [];
  const { stdout: ps } = await run("ps", ["-eo", "rss,args"]);
  for (const s of idle) {
    const id = server.sessions.get(s.id)!.workstationId!;
    const cgroup = Number(await readFile(`/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`, "utf8").catch(() => "0"));
    const cache = await readFile(`/sys/fs/cgroup/memory/docker/${id}/memory.stat`, "utf8").catch(() => "");
    const pageCache = Number(/^total_cache (\d+)/m.exec(cache)?.[1] ?? 0);
    const shim = ps.split("\n").filter((l) => l.includes(id) && l.includes("shim")).reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0]) * 1024, 0);
    perSession.push(cgroup - pageCache + shim);
  }
  const serverShare = (process.memoryUsage().rss - rssBefore) / IDLE_SESSIONS;
  for (const s of idle) {
    await s.term.close();
    await s.api.call("DELETE", `/api/sessions/${s.id}`);
  }
  const memory = perSession.reduce((a, b) => a + b, 0) / perSession.length + Math.max(0, serverShare);

  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  const rows = [
    ["Session ready from the warm pool (POST → first prompt byte), p50", ms(pct(pooled, 50)), ""],
    ["Session ready from the warm pool, p95", ms(pct(pooled, 95)), `target ≤ 2× bare run (${ms(2 * pct(bare, 95))}): ${pct(pooled, 95) <= 2 * pct(bare, 95) ? "met" : "MISSED"}`],
    ["Session ready cold (no pool), p50", ms(pct(ready, 50)), ""],
    ["Session ready cold (no pool), p95", ms(pct(ready, 95)), `target ≤ 2× bare run (${ms(2 * pct(bare, 95))}): ${pct(ready, 95) <= 2 * pct(bare, 95) ? "met" : "MISSED"}`],
    ["Bare `docker run --rm` of the workstation, p50", ms(pct(bare, 50)), ""],
    ["Bare `docker run --rm` of the workstation, p95", ms(pct(bare, 95)), ""],
    ["Keystroke echo, p50", ms(pct(echo, 50)), ""],
    ["Keystroke echo, p99", ms(pct(echo, 99)), `target < 10 ms: ${pct(echo, 99) < 10 ? "met" : "MISSED"}`],
    ["Host memory per idle session", mib(memory), `target < 30 MiB: ${memory < 30 * 1024 * 1024 ? "met" : "MISSED"}`],
  ];
  const { stdout: dockerVersion } = await run("docker", ["version", "--format", "{{.Server.Version}}"]);
  const report = `# Benchmarks

Written by \`npm run bench\` (sandbox/bench/bench.ts); every figure below is from one run.

- Date: ${new Date().toISOString()}
- Machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB, Docker Engine ${dockerVersion.trim()}, Node ${process.version}

| measure | value | target |
|---|---|---|
${rows.map((r) => `| ${r.join(" | ")} |`).join("\n")}

How each is measured:
- **Session ready**: ${SESSIONS} sessions one after another, from \`POST /api/sessions\` to the first byte of
  the shell's output on the terminal WebSocket. Cold: network, workspace, proxy socket, workstation container and
  exec are made on request. From the pool (STOWAGE_POOL_SIZE=2, the default): the bench waits until the pool is
  full before each request, as a student arriving at a quiet moment would find it.
  Beside it, \`docker run --rm ${WORKSTATION_IMAGE} true\` by the docker CLI, ${SESSIONS} times.
- **Keystroke echo**: ${ECHO_SAMPLES} single keys (x, then backspace) on one idle session's WebSocket, each timed until
  the echo arrives.
- **Memory per idle session**: ${IDLE_SESSIONS} sessions with their shells running and a browser attached, idle 3 s;
  per session: the workstation's memory cgroup (usage less page cache), its containerd shim's RSS, and the
  server's RSS growth divided by the sessions. The terminal is the engine's exec stream, so no per-session
  host process (such as a \`docker exec -it\` client) exists: see docs/decisions/terminal.md.
`;
  await writeFile("docs/benchmarks.md", report);
  process.stdout.write(report);
} finally {
  await server.close();
}
