/**
 * After an engine restart, every container is stopped: the workstations of ready (pooled) and
 * live sessions included, and the server never hears of it (its event stream is down meanwhile).
 * ddc0117 handed such a pooled session to the next learner and kept trying to exec a shell into
 * a stopped container: a blank terminal until the session was swept away. The shared engine is
 * not restarted here: its effect on these sessions, their workstations stopped, is made directly.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";
import { PROMPT, TerminalClient } from "../../tools/terminal-client.ts";
import type { Session } from "../../sandbox/sessions/session.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;

beforeAll(async () => {
  server = await startTestServer({ poolSize: 1 });
});
afterAll(() => server?.close());

const pooledSessions = (): readonly Session[] => server.sessions.warmOn(server.engine);
async function waitFor(cond: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(cond()).toBe(true);
}

describe("after an engine restart", () => {
  it("a new learner gets a working terminal even though the pooled session's workstation was stopped", async () => {
    await waitFor(() => pooledSessions().length === 1);
    const stale = pooledSessions()[0]!;
    await server.engine.docker.getContainer(stale.workstationId!).stop({ t: 0 });
    const learner = new ApiClient(server.url);
    const { status, body } = await learner.call("POST", "/api/sessions");
    expect(status).toBe(201);
    const term = await TerminalClient.open(server.url, body.id, learner.cookie);
    try {
      await term.waitFor(PROMPT, 20_000);
      term.type("echo alive-$((40+2))\r");
      await term.waitFor(/alive-42/);
    } finally {
      await term.close();
    }
  }, 90_000);

  it("a learner whose workstation was stopped gets a shell again on reconnect, with their home and docker CLI", async () => {
    const learner = new ApiClient(server.url);
    const id = (await learner.call("POST", "/api/sessions")).body.id as string;
    expect((await studentShell(server, id, "echo kept > note.txt")).exitCode).toBe(0);
    const first = await TerminalClient.open(server.url, id, learner.cookie);
    await first.waitFor(PROMPT, 20_000);
    await server.engine.docker.getContainer(server.sessions.get(id)!.workstationId!).stop({ t: 0 });
    await first.close();
    // The page reconnects (or the student reloads): a prompt, in the same home. The server either
    // starts the stopped workstation again on connect, or (having heard the engine's die event)
    // has already rebuilt the sandbox with the home kept under a new id, which the page follows
    // by asking for its session again: either way the learner's session answers with a prompt.
    let again: TerminalClient | undefined;
    for (const deadline = Date.now() + 20_000; !again;) {
      const current = (await learner.call("POST", "/api/sessions")).body.id as string;
      again = await TerminalClient.open(server.url, current, learner.cookie).catch(
        (error: Error) => {
          if (Date.now() > deadline) throw error;
          return undefined;
        },
      );
      if (!again) await new Promise((r) => setTimeout(r, 250));
    }
    try {
      await again.waitFor(PROMPT, 20_000);
      again.type("cat note.txt; docker ps -q | wc -l\r");
      await again.waitFor(/kept\r?\n0/);
    } finally {
      await again.close();
    }
  }, 90_000);
});
