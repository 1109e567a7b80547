/**
 * Classes over the API, on the real engine: creation and its token, warming as many sandboxes as
 * seats, joining with names (warm sandboxes taken), unknown codes (404), a full class (409), an
 * ended class (410), and attempts and failure messages on the dashboard's data.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";
import { CODE_ALPHABET } from "../../sandbox/classes/class-code.ts";
import { UNKNOWN_CODES_PER_MINUTE } from "../../sandbox/classes/class-routes.ts";

const TOKEN = "class-api-instructor-token";
const auth = { authorization: `Bearer ${TOKEN}` };
let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({ instructorToken: TOKEN });
});
afterAll(async () => {
  await server?.close();
});

describe("classes", () => {
  it("needs the instructor token, and is off without one", async () => {
    const anyone = new ApiClient(server.url);
    expect(
      (await anyone.call("POST", "/api/instructor/classes", { name: "x", seats: 2 })).status,
    ).toBe(401);
    expect(
      (
        await anyone.call(
          "POST",
          "/api/instructor/classes",
          { name: "x", seats: 2 },
          { authorization: "Bearer wrong-token-wrong-token-x" },
        )
      ).status,
    ).toBe(401);
    expect((await anyone.call("GET", "/api/instructor/classes/ACEFHJ")).status).toBe(401);
    const bad = await anyone.call("POST", "/api/instructor/classes", { name: "x", seats: 0 }, auth);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^seats:/);
    const off = await startTestServer();
    try {
      expect(
        (
          await new ApiClient(off.url).call(
            "POST",
            "/api/instructor/classes",
            { name: "x", seats: 2 },
            auth,
          )
        ).status,
      ).toBe(404);
    } finally {
      await off.close();
    }
  });

  it("points the join link at the configured public origin, else where the instructor came from", async () => {
    const behindProxy = await startTestServer({
      instructorToken: TOKEN,
      publicOrigin: "https://course.example.org",
    });
    try {
      const made = await new ApiClient(behindProxy.url).call(
        "POST",
        "/api/instructor/classes",
        { name: "Evening", seats: 1, startsAt: new Date(Date.now() + 86_400_000).toISOString() },
        auth,
      );
      expect(made.status).toBe(201);
      expect(made.body.joinUrl).toBe(`https://course.example.org/join/?code=${made.body.code}`);
    } finally {
      await behindProxy.close();
    }
  });

  it("warms a sandbox per seat, seats students by name, refuses unknown codes and a full class", async () => {
    const teacher = new ApiClient(server.url);
    const created = await teacher.call(
      "POST",
      "/api/instructor/classes",
      { name: "Year 10 B", seats: 2 },
      auth,
    );
    expect(created.status).toBe(201);
    const code: string = created.body.code;
    expect(code).toMatch(new RegExp(`^[${CODE_ALPHABET}]{6}$`));
    expect(code).not.toMatch(/[0O1IL2Z5S8B]/);
    expect(created.body.joinUrl).toBe(`${server.url}/join/?code=${code}`);

    await expect
      .poll(
        async () =>
          (await teacher.call("GET", `/api/instructor/classes/${code}`, undefined, auth)).body.warm,
        { timeout: 60_000, interval: 500 },
      )
      .toBe(2);
    const warmIds = new Set(server.pools["ready"].get(code)!.map((s) => s.id));

    const ada = new ApiClient(server.url);
    const joined = await ada.call("POST", "/api/sessions", {
      class: code.toLowerCase().replace(/^(...)/, "$1-"),
      name: "Ada",
    });
    expect(joined.status, JSON.stringify(joined.body)).toBe(201);
    expect(warmIds.has(joined.body.id)).toBe(true); // a warm one, taken at once
    const grace = new ApiClient(server.url);
    expect((await grace.call("POST", "/api/sessions", { class: code, name: "Grace" })).status).toBe(
      201,
    );
    // The pool follows the free seats down: none left, none warm.
    expect(
      (await teacher.call("GET", `/api/instructor/classes/${code}`, undefined, auth)).body.warm,
    ).toBe(0);

    const late = new ApiClient(server.url);
    const full = await late.call("POST", "/api/sessions", { class: code, name: "Late" });
    expect(full.status).toBe(409);
    expect(full.body.error).toMatch(/is full: all 2 seats are taken/);
    const unknown = await late.call("POST", "/api/sessions", { class: "XXXXXX" });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/no class with the code XXXXXX/);
    expect(
      (await late.call("POST", "/api/sessions", { class: code, name: "bad\u0007name" })).status,
    ).toBe(400);
    // Joining again keeps the seat (and the sandbox).
    const again = await ada.call("POST", "/api/sessions", { class: code });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(joined.body.id);

    const view = (await teacher.call("GET", `/api/instructor/classes/${code}`, undefined, auth))
      .body;
    expect(view).toMatchObject({ code, name: "Year 10 B", seats: 2, warm: 0, joined: 2 });
    expect(view.students.map((s: { name: string }) => s.name)).toEqual(["Ada", "Grace"]);
    expect(JSON.stringify(view)).not.toContain(ada.cookie.split("=")[1]); // learner ids (cookies) never shown

    // A failed check shows on the dashboard with its message and attempts; 3 in a row is "stuck".
    const check = () =>
      ada.call("POST", `/api/sessions/${joined.body.id}/checks`, {
        lesson: "02-named-volumes",
        exercise: "keep-the-data",
      });
    for (let i = 0; i < 3; i++) expect((await check()).status).toBe(200);
    let student = (await teacher.call("GET", `/api/instructor/classes/${code}`, undefined, auth))
      .body.students[0];
    const failing = Object.entries(
      student.tasks as Record<string, { status: string; attempts: number; lastMessage?: string }>,
    );
    expect(failing.length).toBeGreaterThan(0);
    expect(failing[0]![1]).toMatchObject({ status: "failing", attempts: 3 });
    expect(failing[0]![1].lastMessage).toBeTruthy();
    expect(student.stuck).toBe(true);
    const summary = (await teacher.call("GET", `/api/instructor/classes/${code}`, undefined, auth))
      .body.summary;
    expect(summary[failing[0]![0]].failing).toBe(1);
    expect(summary[failing[0]![0]].topFailures[0]).toMatchObject({
      message: failing[0]![1].lastMessage,
      count: 1,
    });

    // Doing the exercise passes its tasks: attempts stop counting at the pass, the student is no longer stuck.
    const done = await studentShell(
      server,
      joined.body.id,
      readFileSync("lessons/02-named-volumes/exercises/keep-the-data/solution.sh", "utf8"),
    );
    expect(done.exitCode, done.output).toBe(0);
    const passedRun = await check();
    const tasks = passedRun.body.tasks as { id: string; passed: boolean; message: string }[];
    student = (await teacher.call("GET", `/api/instructor/classes/${code}`, undefined, auth)).body
      .students[0];
    expect(
      tasks.every((t) => t.passed),
      JSON.stringify(tasks),
    ).toBe(true);
    for (const t of tasks)
      expect(student.tasks[`02-named-volumes/keep-the-data/${t.id}`]).toMatchObject({
        status: "passed",
        attempts: 4,
      });
    expect(student.stuck).toBe(false);

    // Ending the class: no one else joins.
    const ended = await teacher.call(
      "POST",
      `/api/instructor/classes/${code}/end`,
      undefined,
      auth,
    );
    expect(ended.body.ended).toBe(true);
    const after = await new ApiClient(server.url).call("POST", "/api/sessions", { class: code });
    expect(after.status).toBe(410);
  });

  it("gives every student of a class arriving at once a warm sandbox", async () => {
    const teacher = new ApiClient(server.url);
    const { body } = await teacher.call(
      "POST",
      "/api/instructor/classes",
      { name: "All at once", seats: 6 },
      auth,
    );
    await expect
      .poll(() => server.pools.warm(body.code), { timeout: 120_000, interval: 500 })
      .toBe(6);
    const warmIds = new Set(server.pools["ready"].get(body.code)!.map((s) => s.id));
    const joins = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        new ApiClient(server.url).call("POST", "/api/sessions", {
          class: body.code,
          name: `S${i}`,
        }),
      ),
    );
    expect(joins.map((j) => j.status)).toEqual(Array(6).fill(201));
    expect(joins.filter((j) => warmIds.has(j.body.id))).toHaveLength(6);
    await teacher.call("POST", `/api/instructor/classes/${body.code}/end`, undefined, auth);
    await Promise.all(joins.map((j) => server.sessions.destroy(j.body.id, "test done")));
  }, 180_000);

  it("warms a class that starts later only from a few minutes before its start", async () => {
    const teacher = new ApiClient(server.url);
    const inAnHour = new Date(Date.now() + 3600_000).toISOString();
    const { status, body } = await teacher.call(
      "POST",
      "/api/instructor/classes",
      { name: "Tomorrow", seats: 3, startsAt: inAnHour, durationMinutes: 60 },
      auth,
    );
    expect(status).toBe(201);
    expect(body.endsAt).toBe(new Date(Date.parse(inAnHour) + 3600_000).toISOString());
    const record = (await server.pools["store"].get(body.code))!;
    expect(await server.pools.target(record)).toBe(0);
    // Within the lead time (STOWAGE_CLASS_WARM_LEAD_SECONDS, 300 s) it wants a sandbox per seat.
    expect(await server.pools.target(record, Date.parse(inAnHour) - 200_000)).toBe(3);
    await new Promise((r) => setTimeout(r, 6000)); // a pool tick
    expect(server.pools.warm(body.code)).toBe(0);
    await teacher.call("POST", `/api/instructor/classes/${body.code}/end`, undefined, auth);
  });

  // After the tests that try unknown codes: it leaves this address limited for a minute.
  it("limits guessing class codes from one address", async () => {
    const guesser = new ApiClient(server.url);
    let answer = await guesser.call("POST", "/api/sessions", { class: "AAAAAA" });
    for (let i = 0; i < UNKNOWN_CODES_PER_MINUTE + 1 && answer.status === 404; i++)
      answer = await guesser.call("POST", "/api/sessions", { class: `AAAAA${CODE_ALPHABET[i]}` });
    expect(answer.status).toBe(429);
    expect(answer.body.error).toMatch(/too many unknown class codes from your address/);
    expect(server.sessions.forOwner(guesser.cookie.split("=")[1]!)).toBeUndefined();
  });

  it("empties a class's warm pool when the class ends", async () => {
    const teacher = new ApiClient(server.url);
    const { body } = await teacher.call(
      "POST",
      "/api/instructor/classes",
      { name: "Short", seats: 1 },
      auth,
    );
    await expect
      .poll(() => server.pools.warm(body.code), { timeout: 60_000, interval: 500 })
      .toBe(1);
    const warmId = server.pools["ready"].get(body.code)![0]!.id;
    await teacher.call("POST", `/api/instructor/classes/${body.code}/end`, undefined, auth);
    await expect
      .poll(() => server.sessions.get(warmId), { timeout: 30_000, interval: 300 })
      .toBeUndefined();
    expect(server.pools.warm(body.code)).toBe(0);
  });
});
