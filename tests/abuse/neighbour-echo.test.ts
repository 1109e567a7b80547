/**
 * Abuse in one session while a neighbour types in its terminal over the real WebSocket: the
 * server stays up and every echo arrives. Echo latencies are printed (p50 / p99) for the
 * benchmark file; the test asserts only liveness (each echo within 5 s).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer, studentShell } from "../helpers/sandbox-server.ts";
import { PROMPT, TerminalClient } from "../helpers/terminal-client.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let abuser: string;
let abuserCookie: string;
let neighbour: TerminalClient;
const figures: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  const a = new ApiClient(server.url);
  abuser = (await a.call("POST", "/api/sessions")).body.id;
  abuserCookie = a.cookie;
  const n = new ApiClient(server.url);
  const id = (await n.call("POST", "/api/sessions")).body.id;
  neighbour = await TerminalClient.open(server.url, id, n.cookie);
  await neighbour.waitFor(PROMPT, 20_000);
});
afterAll(async () => {
  await neighbour?.close();
  await server?.close();
  console.log(`\nneighbour echo during abuse (ms):\n${figures.join("\n")}`);
});

/** Types single characters for `ms` and measures how long each takes to come back. */
async function echoWhile(ms: number): Promise<number[]> {
  const times: number[] = [];
  const end = Date.now() + ms;
  let n = 0;
  while (Date.now() < end) {
    const ch = "abcdefghij"[n++ % 10]!;
    const from = neighbour.output.length;
    const t0 = performance.now();
    neighbour.type(ch);
    await neighbour.waitFor(new RegExp(ch), 5000, from);
    times.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 50));
  }
  neighbour.type("\u0015"); // ^U: clear the line
  return times;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function abuse(name: string, start: string, stop: string, seconds = 10): Promise<void> {
  const started = studentShell(server, abuser, start, (seconds + 15) * 1000);
  await new Promise((r) => setTimeout(r, 1500));
  const times = await echoWhile(seconds * 1000);
  await studentShell(server, abuser, stop, 30_000);
  await started;
  figures.push(`${name.padEnd(28)} n=${String(times.length).padStart(3)}  p50=${pct(times, 50).toFixed(0).padStart(5)}  p99=${pct(times, 99).toFixed(0).padStart(5)}  max=${Math.max(...times).toFixed(0).padStart(5)}`);
  expect(times.length).toBeGreaterThan(10);
  const health = await fetch(`${server.url}/api/health`);
  expect(health.status).toBe(200);
}

describe("a neighbour keeps typing while one session abuses the machine", () => {
  it("baseline (no abuse)", async () => abuse("baseline", "true", "true", 5), 60_000);
  it("fork bomb in a container", async () => abuse("fork bomb", "docker run -d --name bomb busybox sh -c 'f(){ f | f & }; f' >/dev/null; sleep 12", "docker rm -f bomb >/dev/null"), 90_000);
  it("memory hog in a container", async () => abuse("memory hog", "docker run -d --name hog busybox sh -c 'while true; do head -c 300m /dev/zero | tail >/dev/null; done' >/dev/null; sleep 12", "docker rm -f hog >/dev/null"), 90_000);
  it("CPU spin in several containers", async () => abuse("cpu spin x4", "for i in 1 2 3 4; do docker run -d --name spin$i busybox sh -c 'while :; do :; done' >/dev/null; done; sleep 12", "docker rm -f spin1 spin2 spin3 spin4 >/dev/null"), 90_000);
  it("output flood in the abuser's own terminal", async () => {
    const a = await TerminalClient.open(server.url, abuser, abuserCookie);
    a.type("yes stowage-flood-line\r");
    try {
      await abuse("output flood (yes)", "sleep 12", "true");
    } finally {
      a.type("\u0003");
      await a.close();
    }
  }, 90_000);
  it("disk filler in a volume", async () => abuse("disk filler (volume)", "docker run -d --name dd -v junk:/j busybox sh -c 'while true; do dd if=/dev/zero of=/j/f bs=1M count=300 2>/dev/null; rm /j/f; done' >/dev/null; sleep 12", "docker rm -f dd >/dev/null; docker volume rm junk >/dev/null"), 90_000);
  it("a loop of docker runs", async () => abuse("docker run loop", "end=$(($(date +%s)+12)); while [ $(date +%s) -lt $end ]; do docker run --rm busybox true >/dev/null 2>&1; done", "true"), 90_000);
  it("the server is still up and the abuser's session too", async () => {
    const r = await studentShell(server, abuser, "docker ps -aq | wc -l");
    expect(r.exitCode).toBe(0);
  });
});
