/**
 * Work the server does for one session, per request the session makes: live state streams (each
 * is two engine lists after every change) and check runs (each runs every task of an exercise).
 * One session's loop must get a bounded share, with a clear answer past it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer } from "../../tools/sandbox-server.ts";
import { MAX_STATE_STREAMS } from "../../sandbox/api/state-stream.ts";

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

/** Opens a state stream; resolves when its headers (and, when 200, its first snapshot) are in. */
async function openStream(): Promise<{ status: number; body: string; close: () => void }> {
  const controller = new AbortController();
  const res = await fetch(`${server.url}/api/sessions/${id}/state`, {
    headers: { cookie: api.cookie },
    signal: controller.signal,
  });
  if (res.status !== 200)
    return { status: res.status, body: await res.text(), close: () => undefined };
  const reader = res.body!.getReader();
  let text = "";
  while (!text.includes("event: snapshot")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  return { status: 200, body: text, close: () => controller.abort() };
}

describe("per-session budgets", () => {
  it(`holds at most ${MAX_STATE_STREAMS} state streams for one session, refuses more with a clear 429, and counts a closed one out`, async () => {
    const open = [];
    for (let i = 0; i < MAX_STATE_STREAMS; i++) open.push(await openStream());
    expect(open.map((s) => s.status)).toEqual(Array(MAX_STATE_STREAMS).fill(200));
    const refused = await Promise.all(Array.from({ length: 20 }, () => openStream()));
    expect(refused.map((s) => s.status)).toEqual(Array(20).fill(429));
    expect(JSON.parse(refused[0]!.body).error).toMatch(/already has 4 live state streams open/);
    open.pop()!.close();
    await expect
      .poll(() => server.sessions.get(id)!.stateStreams, { timeout: 5000 })
      .toBe(MAX_STATE_STREAMS - 1);
    const again = await openStream();
    expect(again.status).toBe(200);
    for (const s of [...open, again]) s.close();
    await expect.poll(() => server.sessions.get(id)!.stateStreams, { timeout: 5000 }).toBe(0);
  });

  it("runs at most two check runs of one session at once, queues four, refuses the rest with a 429", async () => {
    const session = server.sessions.get(id)!;
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, session.checksRunning)), 5);
    const runs = await Promise.all(
      Array.from({ length: 30 }, () =>
        api.call("POST", `/api/sessions/${id}/checks`, {
          lesson: "07-compose-volumes",
          exercise: "compose-stack",
        }),
      ),
    );
    clearInterval(watch);
    const statuses = runs.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(6);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(24);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(peak).toBeLessThanOrEqual(2);
    const refused = runs.find((r) => r.status === 429)!;
    expect(refused.body.error).toMatch(/checks are already running for this sandbox/);
    expect(refused.headers.get("retry-after")).toBe("2");
    // And afterwards, a check runs again.
    expect(
      (
        await api.call("POST", `/api/sessions/${id}/checks`, {
          lesson: "07-compose-volumes",
          exercise: "compose-stack",
        })
      ).status,
    ).toBe(200);
  });

  it("runs one exercise setup of a session at a time (one waiting) and at most four file operations (eight waiting), refusing the rest", async () => {
    const setups = await Promise.all(
      Array.from({ length: 12 }, () =>
        api.call("POST", `/api/sessions/${id}/setup`, {
          lesson: "02-named-volumes",
          exercise: "tidy-up",
        }),
      ),
    );
    const setupStatuses = setups.map((r) => r.status);
    expect(setupStatuses.filter((s) => s === 200).length).toBeLessThanOrEqual(2);
    expect(setupStatuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(10);
    expect(setups.find((r) => r.status === 429)!.body.error).toMatch(
      /too many exercise setups at once for this sandbox/,
    );
    const listings = await Promise.all(
      Array.from({ length: 40 }, () => api.call("GET", `/api/sessions/${id}/files`)),
    );
    const listingStatuses = listings.map((r) => r.status);
    expect(listingStatuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(listingStatuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect((await api.call("GET", `/api/sessions/${id}/files`)).status).toBe(200);
  }, 120_000);
});
