/**
 * "Reset my sandbox" and a workstation that vanished behind the server's back (an admin's
 * `docker rm`, a daemon restart stopping it): the learner gets a fresh sandbox, the home folder
 * kept when asked (always, for a vanished one), progress always; never "no such container" forever.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ApiClient,
  countSessionObjects,
  startTestServer,
  studentShell,
} from "../../tools/sandbox-server.ts";
import { PROMPT, TerminalClient } from "../../tools/terminal-client.ts";

/**
 * `cat ~/notes.txt` answered "kept": after a line break, or after a cursor move when the saved
 * screen is redrawn around the answer (a rebuilt shell redraws the last screen).
 */
// eslint-disable-next-line no-control-regex -- the escape is the cursor move being matched
const KEPT_LINE = /(?:[\r\nl]|\x1b\[\d*[A-D])kept\r?\n/;

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

/** A learner with a session, a file in the home, a container and a volume, and some progress. */
async function learnerWithWork() {
  const client = new ApiClient(server.url);
  const created = await client.call("POST", "/api/sessions");
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const made = await studentShell(
    server,
    id,
    "echo kept > ~/notes.txt && mkdir -p ~/site && echo hi > ~/site/index.html && docker volume create data >/dev/null && docker run -d --name web -v data:/d busybox sleep 600 >/dev/null && echo ok",
  );
  expect(made.stdout.trim(), made.output).toBe("ok");
  expect(
    (await client.call("POST", "/api/progress/visits", { lesson: "02-named-volumes" })).status,
  ).toBeLessThan(300);
  const progress = (await client.call("GET", "/api/progress")).body;
  expect(JSON.stringify(progress)).toContain("02-named-volumes");
  return { client, id, progress };
}

/** Polls POST /api/sessions (what the page does on reconnect) until the learner has a session other than `old`. */
async function nextSession(client: ApiClient, old: string, timeoutMs = 60_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await client.call("POST", "/api/sessions");
    if (r.status < 300 && r.body.id !== old) return r.body.id as string;
    if (Date.now() > until)
      throw new Error(`no new session; last answer ${r.status} ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 300));
  }
}

describe("reset my sandbox", () => {
  it("gives a fresh sandbox with the home kept, progress kept, the old objects gone", async () => {
    const { client, id, progress } = await learnerWithWork();
    const reset = await client.call("POST", `/api/sessions/${id}/reset`, { keepHome: true });
    expect(reset.status, JSON.stringify(reset.body)).toBe(201);
    const fresh = reset.body.id as string;
    expect(fresh).toMatch(/^[a-f0-9]{12}$/);
    expect(fresh).not.toBe(id);
    expect(await countSessionObjects(server, id)).toEqual({
      containers: 0,
      volumes: 0,
      networks: 0,
    });
    expect((await client.call("GET", `/api/sessions/${id}`)).status).toBe(404);
    // The same learner's next call gets the new one (one sandbox per learner).
    expect((await client.call("POST", "/api/sessions")).body.id).toBe(fresh);
    const look = await studentShell(
      server,
      fresh,
      "cat ~/notes.txt ~/site/index.html; stat -c %U ~/notes.txt; docker ps -aq | wc -l; docker volume ls -q | wc -l",
    );
    expect(look.stdout.split("\n").map((l) => l.trim())).toEqual([
      "kept",
      "hi",
      "student",
      "0",
      "0",
      "",
    ]);
    expect((await client.call("GET", "/api/progress")).body).toEqual(progress);
    const term = await TerminalClient.open(server.url, fresh, client.cookie);
    await term.waitFor(PROMPT);
    await term.close();
  });

  it("empties the home when the student chooses so, and still keeps progress", async () => {
    const { client, id, progress } = await learnerWithWork();
    const reset = await client.call("POST", `/api/sessions/${id}/reset`, { keepHome: false });
    expect(reset.status).toBe(201);
    const look = await studentShell(server, reset.body.id, "ls -A ~ | grep -v '^\\.bash' | wc -l");
    expect(look.stdout.trim()).toBe("0");
    expect((await client.call("GET", "/api/progress")).body).toEqual(progress);
  });

  it("refuses a bad body naming the field, and another learner's session", async () => {
    const { client, id } = await learnerWithWork();
    const bad = await client.call("POST", `/api/sessions/${id}/reset`, { keepHome: "yes" });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^keepHome: /);
    const mallory = new ApiClient(server.url);
    await mallory.call("GET", "/api/progress");
    expect((await mallory.call("POST", `/api/sessions/${id}/reset`, {})).status).toBe(404);
    expect(server.sessions.get(id)).toBeDefined();
  });
});

describe("a workstation that vanished behind the server's back", () => {
  it("the Files panel's call finds it gone: a clear 503 and a rebuild, not an internal error", async () => {
    const { client, id } = await learnerWithWork();
    server.sessions.events.stop(); // only the files call can notice
    try {
      await server.engine.docker
        .getContainer(server.sessions.get(id)!.workstationId!)
        .remove({ force: true });
      const files = await client.call("GET", `/api/sessions/${id}/files`);
      expect(files.status).toBe(503);
      expect(files.body.error).toMatch(
        /workstation was gone; a new one is starting with your files kept/,
      );
      const fresh = await nextSession(client, id);
      const listed = await client.call("GET", `/api/sessions/${fresh}/files`);
      expect(listed.status).toBe(200);
      expect(listed.body.files.map((f: { path: string }) => f.path)).toContain("notes.txt");
    } finally {
      await server.sessions.events.start();
    }
  });

  it("an admin's docker rm -f: the connected terminal is moved to a new sandbox with the home and progress kept", async () => {
    const { client, id, progress } = await learnerWithWork();
    const term = await TerminalClient.open(server.url, id, client.cookie);
    await term.waitFor(PROMPT);
    const closed = new Promise<number>((resolve) => term.ws.once("close", (code) => resolve(code)));
    await server.engine.docker
      .getContainer(server.sessions.get(id)!.workstationId!)
      .remove({ force: true });
    expect([4001, 4002]).toContain(await closed); // the page reconnects on any close
    const fresh = await nextSession(client, id);
    const again = await TerminalClient.open(server.url, fresh, client.cookie);
    await again.waitFor(PROMPT, 30_000);
    again.type("cat ~/notes.txt\r");
    await again.waitFor(KEPT_LINE);
    await again.close();
    expect((await client.call("GET", "/api/progress")).body).toEqual(progress);
    expect(await countSessionObjects(server, id)).toEqual({
      containers: 0,
      volumes: 0,
      networks: 0,
    });
  });

  it("the student's own `kill 1` ends the workstation: rebuilt with the home kept, and a loop of it at most once per 5 s", async () => {
    const { client, id } = await learnerWithWork();
    await studentShell(server, id, "kill 1", 10_000).catch(() => undefined);
    const first = await nextSession(client, id);
    const look = await studentShell(server, first, "cat ~/notes.txt");
    expect(look.stdout.trim()).toBe("kept");
    const firstMade = server.sessions.get(first)!.createdAt;
    await studentShell(server, first, "kill 1", 10_000).catch(() => undefined);
    const second = await nextSession(client, first);
    expect((await studentShell(server, second, "cat ~/notes.txt")).stdout.trim()).toBe("kept");
    // Each replacement waits until 5 s after the previous one began; a session's clock starts
    // when it is made, after the old one's removal (which takes about as long each time).
    expect(server.sessions.get(second)!.createdAt - firstMade).toBeGreaterThanOrEqual(4000);
  });

  it("a stopped workstation (a daemon restart stops it) is rebuilt when the terminal connects", async () => {
    const { client, id } = await learnerWithWork();
    await server.engine.docker.getContainer(server.sessions.get(id)!.workstationId!).stop({ t: 0 });
    const fresh = await nextSession(client, id);
    const term = await TerminalClient.open(server.url, fresh, client.cookie);
    await term.waitFor(PROMPT, 30_000);
    term.type("cat ~/notes.txt\r");
    await term.waitFor(KEPT_LINE);
    await term.close();
  });

  it("without the engine's event (missed while it restarted), the terminal's own exec error rebuilds it", async () => {
    const { client, id } = await learnerWithWork();
    const session = server.sessions.get(id)!;
    // The event stream does not see this removal: the server learns it from the exec's 404.
    const stopRouting = server.sessions.events.stop.bind(server.sessions.events);
    stopRouting();
    try {
      await server.engine.docker.getContainer(session.workstationId!).remove({ force: true });
      let term: TerminalClient | undefined = await TerminalClient.open(
        server.url,
        id,
        client.cookie,
      );
      const closed = new Promise<number>((resolve) =>
        term!.ws.once("close", (code) => resolve(code)),
      );
      expect([4001, 4002]).toContain(await closed);
      expect(
        term.controls.some(
          (c) => c.type === "notice" && /home folder kept/.test(String(c.message)),
        ),
      ).toBe(true);
      expect(term.output).not.toMatch(/no such container/i);
      const fresh = await nextSession(client, id);
      term = await TerminalClient.open(server.url, fresh, client.cookie);
      await term.waitFor(PROMPT, 30_000);
      term.type("cat ~/notes.txt\r");
      await term.waitFor(KEPT_LINE);
      await term.close();
    } finally {
      await server.sessions.events.start();
    }
  });
});
