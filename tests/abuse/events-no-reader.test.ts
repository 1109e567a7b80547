/**
 * `docker events` clients that never read: the server must not keep every event for them.
 * ddc0117 wrote each event into the answer whatever the client did, and a few such clients grew
 * the server from 132 MB to 2.3 GB in 32 s. Now an answer with EVENTS_MAX_UNREAD_BYTES unread is
 * ended, and the engine's own stream is never held up by it.
 */
import { connect } from "node:net";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer } from "../../tools/sandbox-server.ts";
import { EVENTS_MAX_UNREAD_BYTES } from "../../sandbox/proxy/resources/system.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let id: string;
let socketPath: string;

beforeAll(async () => {
  server = await startTestServer();
  const api = new ApiClient(server.url);
  id = (await api.call("POST", "/api/sessions")).body.id;
  socketPath = server.sessions.get(id)!.scope.proxySocketPath;
});
afterAll(() => server?.close());

/** One request to the session's proxy, as the student's CLI would send it. */
function proxyCall(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: {
          host: "docker",
          ...(data ? { "content-type": "application/json", "content-length": data.length } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

describe("docker events without a reader", () => {
  it("ends an events answer its client does not read, instead of holding every event for it", async () => {
    // A client that asks for events and then never reads.
    const client = connect(socketPath);
    client.write("GET /v1.41/events HTTP/1.1\r\nHost: docker\r\n\r\n");
    await new Promise((r) => setTimeout(r, 300));
    client.pause();
    let received = 0;
    let closed = false;
    client.on("data", (c: Buffer) => (received += c.length));
    client.on("close", () => (closed = true));

    // Events with some weight: a container whose labels come with each of its events.
    const labels = Object.fromEntries(
      Array.from({ length: 7 }, (_, i) => [`course.note.${i}`, "x".repeat(1000)]),
    );
    const made = await proxyCall("POST", "/v1.41/containers/create?name=chatty", {
      Image: "busybox",
      Cmd: ["sleep", "3600"],
      Labels: labels,
    });
    expect(made.status).toBe(201);
    expect((await proxyCall("POST", "/v1.41/containers/chatty/start")).status).toBe(204);
    let generated = 0;
    const eventBytes = 7 * 1000 + 400; // labels within the sandbox's 8 KiB per object (proxy/bounds.ts)
    // Enough to fill the socket's buffers on both sides several times over, and the bound.
    while (generated < EVENTS_MAX_UNREAD_BYTES + 3 * 1024 * 1024) {
      // The engine now and then answers an unpause right after a pause with "not paused": only
      // what it did counts.
      for (const action of ["pause", "unpause"]) {
        if ((await proxyCall("POST", `/v1.41/containers/chatty/${action}`)).status === 204)
          generated += eventBytes;
      }
    }
    // Now it reads what there is: the server has ended the answer, and it got far less than all.
    client.resume();
    await expect.poll(() => closed, { timeout: 10_000 }).toBe(true);
    expect(received).toBeLessThan(generated / 2);
    // The session's own CLI still gets events afterwards.
    const again = connect(socketPath);
    let text = "";
    again.on("data", (c: Buffer) => (text += c.toString()));
    again.write("GET /v1.41/events HTTP/1.1\r\nHost: docker\r\n\r\n");
    await new Promise((r) => setTimeout(r, 300));
    await proxyCall("POST", "/v1.41/containers/chatty/pause");
    await proxyCall("POST", "/v1.41/containers/chatty/unpause");
    await expect
      .poll(() => text.includes('"Action":"pause"') || text.includes('"Action":"unpause"'), {
        timeout: 5000,
      })
      .toBe(true);
    again.destroy();
  }, 180_000);
});
