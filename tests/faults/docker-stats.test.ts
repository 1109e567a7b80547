/**
 * `docker stats --no-stream` with no names used to hang through the proxy: the CLI subscribes to
 * events first and waits for the answer's headers, which the proxy sent only with the first
 * event. It must list the session's running containers and exit, quickly.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let id: string;

beforeAll(async () => {
  server = await startTestServer();
  id = (await new ApiClient(server.url).call("POST", "/api/sessions")).body.id;
});
afterAll(() => server?.close());

describe("docker stats through the proxy", () => {
  it("--no-stream with no names lists every running container and exits", async () => {
    const setup = await studentShell(
      server,
      id,
      "docker run -d --name s1 busybox sleep 300 >/dev/null && docker run -d --name s2 busybox sleep 300 >/dev/null && echo ok",
    );
    expect(setup.stdout.trim(), setup.output).toBe("ok");
    const started = Date.now();
    const r = await studentShell(
      server,
      id,
      "timeout 15 docker stats --no-stream; echo rc=$?",
      30_000,
    );
    const ms = Date.now() - started;
    expect(r.stdout, r.output).toMatch(/rc=0/);
    expect(r.stdout).toMatch(/\bs1\b/);
    expect(r.stdout).toMatch(/\bs2\b/);
    expect(ms).toBeLessThan(10_000);
    await studentShell(server, id, "docker rm -f s1 s2 >/dev/null");
  });

  it("--no-stream with names, and with no running container, exits too", async () => {
    const setup = await studentShell(
      server,
      id,
      "docker run -d --name n1 busybox sleep 300 >/dev/null && echo ok",
    );
    expect(setup.stdout.trim(), setup.output).toBe("ok");
    const named = await studentShell(
      server,
      id,
      "timeout 15 docker stats --no-stream n1; echo rc=$?",
    );
    expect(named.stdout, named.output).toMatch(/n1[\s\S]*rc=0/);
    const none = await studentShell(
      server,
      id,
      "docker rm -f $(docker ps -aq) >/dev/null; timeout 15 docker stats --no-stream; echo rc=$?",
    );
    expect(none.stdout, none.output).toMatch(/rc=0/);
  });
});
