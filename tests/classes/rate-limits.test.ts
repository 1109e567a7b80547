/**
 * The per-address limits as shipped (docs/rate-limits.md), on the real engine: a small group of
 * anonymous students behind one address gets in, a 13th new sandbox within the minute is refused
 * (abuse stays limited), and then 30 members of a class from that same, already limited address
 * are all served: a class is bounded by its seats, not by its address.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer } from "../../tools/sandbox-server.ts";
import { loadConfig } from "../../sandbox/config.ts";

const TOKEN = "rate-limit-instructor-token";
const shipped = loadConfig({});
let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({
    instructorToken: TOKEN,
    createPerMinute: shipped.createPerMinute,
    anonymousPerAddress: shipped.anonymousPerAddress,
  });
});
afterAll(async () => {
  await server?.close();
});

describe("per-address limits", () => {
  it("serves 10 anonymous students from one address at once, still limits more, and never limits a class", async () => {
    expect(shipped.createPerMinute).toBeGreaterThanOrEqual(10);
    const group = await Promise.all(
      Array.from({ length: 10 }, () => new ApiClient(server.url).call("POST", "/api/sessions")),
    );
    expect(group.map((r) => r.status)).toEqual(Array(10).fill(201));
    for (let i = 10; i < shipped.createPerMinute; i++)
      expect((await new ApiClient(server.url).call("POST", "/api/sessions")).status).toBe(201);
    const abuse = await new ApiClient(server.url).call("POST", "/api/sessions");
    expect(abuse.status).toBe(429);
    expect(abuse.body.error).toMatch(/too many new sandboxes from your address/);
    expect(Number(abuse.headers.get("retry-after"))).toBeGreaterThan(0);

    const teacher = new ApiClient(server.url);
    const { body } = await teacher.call(
      "POST",
      "/api/instructor/classes",
      { name: "Thirty", seats: 30 },
      { authorization: `Bearer ${TOKEN}` },
    );
    const members = Array.from({ length: 30 }, () => new ApiClient(server.url));
    const joined = await Promise.all(
      members.map((m, i) =>
        m.call("POST", "/api/sessions", { class: body.code, name: `S${i + 1}` }),
      ),
    );
    expect(joined.map((r) => r.status)).toEqual(Array(30).fill(201));
    // A member coming back without the code (the lesson page's own call) is still a member.
    const again = await members[0]!.call("POST", "/api/sessions");
    expect(again.status).toBe(200);
    // And an anonymous visitor from that address is still limited.
    expect((await new ApiClient(server.url).call("POST", "/api/sessions")).status).toBe(429);
  }, 600_000);

  it("caps the sandboxes anonymous visitors from one address hold at once", async () => {
    const capped = await startTestServer({ createPerMinute: 100, anonymousPerAddress: 2 });
    try {
      expect((await new ApiClient(capped.url).call("POST", "/api/sessions")).status).toBe(201);
      expect((await new ApiClient(capped.url).call("POST", "/api/sessions")).status).toBe(201);
      const third = await new ApiClient(capped.url).call("POST", "/api/sessions");
      expect(third.status).toBe(429);
      expect(third.body.error).toMatch(
        /2 sandboxes are already open from your address \(a class should join with its class code\)/,
      );
    } finally {
      await capped.close();
    }
  }, 120_000);
});
