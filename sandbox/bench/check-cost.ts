/**
 * What one Check of an exercise costs the machine (docs/decisions/check-volume-reads.md, issue
 * 11's class bench): in one fresh session, the exercise's solution, two Checks to warm up, then
 * CHECKS Checks in a row, each timed, while the engine's events of the session's objects are
 * counted (exec_create is an exec, start a container start) and, where `perf` is installed, the
 * host's CPU is sampled by command. Run it alone on a quiet machine (perf sees every process):
 *   node sandbox/bench/check-cost.ts [lesson exercise]   (CHECKS=20 by default)
 */
import { execFile, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";
import { percentile } from "../../tools/percentile.ts";
import { LABEL_SESSION } from "../naming/scope.ts";

const run = promisify(execFile);
const [lesson = "02-named-volumes", exercise = "keep-the-data"] = process.argv.slice(2);
const CHECKS = Number(process.env.CHECKS ?? 20);
const PERF_HZ = 499;
/** The commands a Check's work runs as (the server itself is counted by its pid). */
const STACK = /^(dockerd|containerd|runc|docker|exe|iptables|bash|jq|sh|cat|docker-init)/;

const server = await startTestServer();
try {
  const api = new ApiClient(server.url);
  const id = (await api.call("POST", "/api/sessions")).body.id as string;
  const solution = await readFile(join("lessons", lesson, "exercises", exercise, "solution.sh"));
  const solved = await studentShell(server, id, solution.toString("utf8"), 120_000);
  if (solved.exitCode !== 0) throw new Error(`the solution failed:\n${solved.output}`);
  const check = async () => {
    const { status, body } = await api.call("POST", `/api/sessions/${id}/checks`, {
      lesson,
      exercise,
    });
    if (status !== 200) throw new Error(`Check: ${status} ${JSON.stringify(body)}`);
    const failing = (body.tasks as { id: string; passed: boolean }[]).filter((t) => !t.passed);
    if (failing.length) throw new Error(`failing after the solution: ${JSON.stringify(failing)}`);
  };
  await check();
  await check();

  const perfFile = `/tmp/stowage-check-cost-${process.pid}.data`;
  const perf = spawn(
    "perf",
    ["record", "-a", "-F", String(PERF_HZ), "-o", perfFile, "--", "sleep", "3600"],
    { stdio: "ignore" },
  );
  const perfRuns = await new Promise<boolean>((resolve) => {
    perf.once("error", () => resolve(false));
    setTimeout(() => resolve(true), 1500);
  });
  const since = Math.floor(Date.now() / 1000);
  const times: number[] = [];
  for (let i = 0; i < CHECKS; i++) {
    const t0 = performance.now();
    await check();
    times.push(performance.now() - t0);
  }
  await new Promise((r) => setTimeout(r, 1500)); // the last events reach the engine's log
  const until = Math.ceil(Date.now() / 1000);
  const events = (
    await run("docker", [
      "events",
      ...["--since", String(since), "--until", String(until)],
      ...["--filter", `label=${LABEL_SESSION}=${id}`, "--filter", "type=container"],
      ...["--format", "{{json .Action}}"],
    ])
  ).stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as string).replace(/:.*/s, ""));
  const counts = new Map<string, number>();
  for (const action of events) counts.set(action, (counts.get(action) ?? 0) + 1);
  console.log(
    `${lesson}/${exercise}: ${CHECKS} Checks, p50 ${percentile(times, 50).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`,
  );
  console.log(
    `engine events of the session's containers meanwhile: ${[...counts].map(([a, n]) => `${a} ${n}`).join(", ") || "none"}`,
  );
  if (perfRuns) {
    perf.kill("SIGINT");
    await new Promise((r) => perf.once("exit", r));
    const script = (
      await run("perf", ["script", "-i", perfFile, "-F", "comm,pid,tid"], {
        maxBuffer: 1 << 30,
      })
    ).stdout;
    await run("rm", ["-f", perfFile]);
    const byCommand = new Map<string, number>();
    for (const line of script.split("\n")) {
      const m = /^\s*(.+?)\s+(\d+)\/\d+\s*$/.exec(line);
      if (!m) continue;
      const key = Number(m[2]) === process.pid ? "the server" : m[1]!;
      if (key === "the server" || STACK.test(key))
        byCommand.set(key, (byCommand.get(key) ?? 0) + 1);
    }
    const perCheck = (samples: number) => ((samples / PERF_HZ) * 1000) / CHECKS;
    const rows = [...byCommand].sort((a, b) => b[1] - a[1]);
    const total = rows.reduce((sum, [, n]) => sum + n, 0);
    console.log(
      `CPU per Check (perf, every process of these commands on the host): ${perCheck(total).toFixed(0)} ms; ${rows.map(([k, n]) => `${k} ${perCheck(n).toFixed(1)}`).join(", ")}`,
    );
  } else console.log("perf is not installed: no CPU figures");
} finally {
  await server.close();
}
process.exit(0);
