/** Past its disk limit, a session's writing containers are paused and the student is told why. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";
import { PROMPT, TerminalClient } from "../../tools/terminal-client.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;

beforeAll(async () => {
  server = await startTestServer({ diskQuotaMb: 20 });
});
afterAll(async () => {
  await server?.close();
});

describe("the disk quota", () => {
  it("pauses a container filling a volume and says so in the terminal", async () => {
    const api = new ApiClient(server.url);
    const id = (await api.call("POST", "/api/sessions")).body.id;
    const term = await TerminalClient.open(server.url, id, api.cookie);
    await term.waitFor(PROMPT);
    const filled = await studentShell(
      server,
      id,
      "docker run -d --name filler -v fill:/d busybox sh -c 'dd if=/dev/zero of=/d/x bs=1M count=30 2>/dev/null; sleep 300'",
    );
    expect(filled.exitCode, filled.output).toBe(0);
    await term.waitFor(
      /\[sandbox\] Your sandbox is using \d+ MiB of disk, over its limit of 20 MiB/,
      20_000,
    );
    expect(term.controls).toContainEqual(expect.objectContaining({ type: "notice" }));
    const state = await studentShell(server, id, "docker inspect -f '{{.State.Status}}' filler");
    expect(state.stdout.trim()).toBe("paused");
    // The way out the message gives works.
    const freed = await studentShell(
      server,
      id,
      "docker rm -f filler >/dev/null && docker volume rm fill",
    );
    expect(freed.exitCode, freed.output).toBe(0);
    await term.close();
  });
});
