/**
 * Cross-site requests: a page on another site (or on a hostile name that resolves to this server,
 * DNS rebinding) must not open a learner's terminal or change anything through the API. Both are
 * compared with the configured public origin, never with the request's own Host header.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ApiClient, startTestServer } from "../../tools/sandbox-server.ts";
import { TerminalClient } from "../../tools/terminal-client.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let api: ApiClient;
let id: string;

beforeAll(async () => {
  server = await startTestServer();
  api = new ApiClient(server.url);
  id = (await api.call("POST", "/api/sessions")).body.id;
});
afterAll(() => server?.close());

/** Opens the terminal WebSocket with chosen Host and Origin headers; resolves to the status. */
function openTerminal(host: string, origin: string): Promise<number> {
  const ws = new WebSocket(`${server.url.replace("http", "ws")}/api/sessions/${id}/terminal`, {
    headers: { cookie: api.cookie, origin, host },
  });
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      ws.close();
      resolve(101);
    });
    ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.once("error", reject);
  });
}

describe("origins", () => {
  it("refuses a terminal whose Origin matches its own Host but not the server's public origin (DNS rebinding)", async () => {
    const port = new URL(server.url).port;
    expect(await openTerminal(`evil.example:${port}`, `http://evil.example:${port}`)).toBe(403);
    expect(await openTerminal(`evil.example:${port}`, `https://evil.example:${port}`)).toBe(403);
    // The server's own pages still open it.
    expect(await openTerminal(`127.0.0.1:${port}`, server.url)).toBe(101);
    expect(await openTerminal(`localhost:${port}`, `http://localhost:${port}`)).toBe(101);
    const term = await TerminalClient.open(server.url, id, api.cookie);
    await term.close();
  });

  it("refuses API changes from a foreign Origin with a clear 403, and lets the server's own pages and non-browser clients through", async () => {
    const port = new URL(server.url).port;
    for (const origin of ["http://evil.example", `http://evil.example:${port}`, "null"]) {
      const made = await api.call(
        "POST",
        `/api/sessions/${id}/setup`,
        { lesson: "02-named-volumes", exercise: "tidy-up" },
        { origin },
      );
      expect(made.status).toBe(403);
      expect(made.body.error).toMatch(
        /refused: this request came from a page at .* this server takes changes only from its own pages/,
      );
      const upload = await fetch(`${server.url}/api/sessions/${id}/files/upload?path=x.txt`, {
        method: "PUT",
        headers: { cookie: api.cookie, origin, host: `evil.example:${port}` },
        body: "x",
      });
      expect(upload.status).toBe(403);
      const ended = await api.call("DELETE", `/api/sessions/${id}`, undefined, { origin });
      expect(ended.status).toBe(403);
    }
    // Reading is not refused (a GET changes nothing, and SameSite=Lax keeps the cookie off cross-site reads).
    expect(
      (await api.call("GET", `/api/sessions/${id}`, undefined, { origin: "http://evil.example" }))
        .status,
    ).toBe(200);
    expect(
      (
        await api.call(
          "POST",
          "/api/progress/visits",
          { lesson: "02-named-volumes" },
          { origin: server.url },
        )
      ).status,
    ).toBe(200);
    expect(
      (await api.call("POST", "/api/progress/visits", { lesson: "02-named-volumes" })).status,
    ).toBe(200);
    expect((await api.call("GET", `/api/sessions/${id}`)).status).toBe(200);
  });

  it("takes the origin from STOWAGE_PUBLIC_ORIGIN when set (and only it, plus STOWAGE_ALLOWED_ORIGINS)", async () => {
    const other = await startTestServer({
      publicOrigin: "https://class.example.org",
      allowedOrigins: "https://mirror.example.org",
    });
    try {
      const client = new ApiClient(other.url);
      const post = (origin: string) =>
        client.call("POST", "/api/progress/visits", { lesson: "02-named-volumes" }, { origin });
      expect((await post("https://class.example.org")).status).toBe(200);
      expect((await post("https://mirror.example.org")).status).toBe(200);
      expect((await post(other.url)).status).toBe(403);
      // Served over https: the learner cookie is never sent over plain http.
      const fresh = await fetch(`${other.url}/api/progress`);
      expect(fresh.headers.get("set-cookie")).toMatch(/; Secure$/);
    } finally {
      await other.close();
    }
  });
});
