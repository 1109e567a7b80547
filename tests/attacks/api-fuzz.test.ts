/**
 * Every API endpoint with random and structured hostile input, bounded in count and time: every
 * answer is 2xx/4xx (never 5xx), within a few seconds, and the server keeps answering.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { ApiClient, startTestServer } from "../../tools/sandbox-server.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let owner: ApiClient;
let id: string;
const fiveHundreds: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  owner = new ApiClient(server.url);
  id = (await owner.call("POST", "/api/sessions")).body.id;
});
afterAll(() => server?.close());

const paths = () => [
  "/api/sessions",
  `/api/sessions/${id}`,
  `/api/sessions/${id}/terminal`,
  `/api/sessions/${id}/state`,
  `/api/sessions/${id}/checks`,
  `/api/sessions/${id}/setup`,
  `/api/sessions/${id}/files`,
  `/api/sessions/${id}/files/download`,
  `/api/sessions/${id}/files/upload`,
  "/api/progress",
  "/api/progress/tasks",
  "/api/instructor/progress",
  "/api/health",
];
// Decoded once by encodeURIComponent below, so "%E0%A4%A" arrives as a literal, valid escape.
const hostileStrings = [
  "",
  "a".repeat(5000),
  "../../../../etc/passwd",
  "%00",
  "\u0000",
  "🐳",
  "__proto__",
  "constructor",
  "$(id)",
  "`id`",
  "; rm -rf /",
  "<script>",
  "%E0%A4%A",
  "%",
  "/",
  "\\",
  "..%2f..%2f",
  "null",
  "-1",
  "1e309",
];
const bodies = [
  '{"lesson":"../../etc","exercise":"x"}',
  '{"__proto__":{"admin":true}}',
  '{"lesson":null}',
  "[]",
  '"x"',
  "1e999",
  "{",
  '{"lesson":"' + "a".repeat(70_000) + '"}',
  "\u0000\u0001",
  '{"lesson":{"$gt":""},"exercise":[]}',
];

async function send(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<number> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 15_000);
  try {
    const res = await fetch(server.url + path, {
      method,
      body,
      headers: { cookie: owner.cookie, ...headers },
      signal: controller.signal,
      redirect: "manual",
    });
    if (res.headers.get("content-type")?.includes("event-stream")) controller.abort();
    else await res.arrayBuffer();
    if (res.status >= 500)
      fiveHundreds.push(
        `${res.status} ${method} ${path.slice(0, 120)} ${String(body ?? "").slice(0, 80)}`,
      );
    return res.status;
  } catch (error) {
    if ((error as Error).name === "AbortError") return 200; // a stream (SSE) that stays open, as it should
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

describe("API fuzz", () => {
  it("structured hostile input on every endpoint", async () => {
    for (const path of paths()) {
      for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH"]) {
        if (method === "DELETE" && path === `/api/sessions/${id}`) continue;
        for (const body of method === "GET" ? [undefined] : bodies) {
          await send(method, path, body, { "content-type": "application/json" });
        }
      }
      for (const s of hostileStrings) {
        await send("GET", `${path}?path=${encodeURIComponent(s)}&lesson=${encodeURIComponent(s)}`);
        await send("GET", `${path.replace(id, encodeURIComponent(s) || "x")}`);
      }
    }
    expect(fiveHundreds).toEqual([]);
  }, 120_000);

  it("random bytes as bodies, headers and paths", async () => {
    const end = Date.now() + 15_000;
    let n = 0;
    while (Date.now() < end && n < 300) {
      const path = paths()[n % paths().length]!;
      const junk = randomBytes(1 + (n % 200)).toString("latin1");
      const method = ["GET", "POST", "PUT"][n % 3]!;
      await send(
        method,
        path + (n % 5 === 0 ? `?path=${encodeURIComponent(junk)}` : ""),
        method === "GET" ? undefined : junk,
        {
          "content-type": ["application/json", "text/plain", "application/x-www-form-urlencoded"][
            n % 3
          ]!,
        },
      );
      n++;
    }
    expect(fiveHundreds).toEqual([]);
  }, 60_000);

  // decodeURIComponent throws on a malformed escape: the router must answer 400, not 500.
  it("malformed %-escapes in a path parameter answer 4xx", async () => {
    for (const path of paths())
      for (const s of ["%E0%A4%A", "%", "%zz", "%C0%AF"]) await send("GET", path.replace(id, s));
    expect(fiveHundreds).toEqual([]);
  });

  it("raw malformed HTTP does not crash or hang the server", async () => {
    const port = new URL(server.url).port;
    for (const raw of [
      "GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
      "\u0000\u0001\u0002\r\n\r\n",
      "GET /api/sessions/%ff HTTP/1.1\r\nHost: x\r\n\r\n",
      `GET /api/sessions HTTP/1.1\r\nHost: x\r\nCookie: ${"a".repeat(20_000)}\r\n\r\n`,
      "GET /api/sessions/x/terminal HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    ]) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), "127.0.0.1", () => socket.write(raw));
        socket.on("data", () => undefined);
        socket.setTimeout(3000, () => socket.destroy());
        socket.on("close", () => resolve());
        socket.on("error", () => resolve());
      });
    }
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  });

  it("the terminal WebSocket refuses a foreign Origin and another learner", async () => {
    const { TerminalClient } = await import("../../tools/terminal-client.ts");
    await expect(
      TerminalClient.open(server.url, id, owner.cookie, "http://evil.example"),
    ).rejects.toThrow(/403|refused/);
    await expect(
      TerminalClient.open(server.url, id, "stowage_learner=someone-else"),
    ).rejects.toThrow(/40\d/);
  });
});
