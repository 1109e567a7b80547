/**
 * A build's RUN step writes into the engine's storage while it runs (the classic builder's step
 * container, made by the engine, not by the proxy). The disk quota counts such a step's layer
 * with the session's containers and stops the step once the session is over its limit, so one
 * `RUN dd` cannot fill the host's disk before the build ends (docs/decisions/builds.md).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, studentShell, ApiClient } from "../../tools/sandbox-server.ts";

let server: Awaited<ReturnType<typeof startTestServer>>;
let id = "";

beforeAll(async () => {
  server = await startTestServer({ diskQuotaMb: 64 });
  const { status, body } = await new ApiClient(server.url).call("POST", "/api/sessions");
  expect(status, JSON.stringify(body)).toBe(201);
  id = body.id;
}, 120_000);

afterAll(async () => {
  await server?.close();
}, 120_000);

describe("a build's RUN step and the disk quota", () => {
  it("stops a step that writes past the session's disk limit, and the build fails there", async () => {
    // 400 MiB into the step's layer (the quota is 64 MiB), then a pause long enough for the
    // quota's next measure: without the bound, the build ends well and keeps the 400 MiB.
    const r = await studentShell(
      server,
      id,
      `mkdir -p ~/big && cd ~/big && printf 'FROM busybox\\nRUN dd if=/dev/zero of=/filler bs=1M count=400 && sleep 25\\n' > Dockerfile && docker build -t filler . 2>&1; echo "exit=$?"`,
      90_000,
    );
    expect(r.stdout).not.toContain("exit=0");
    expect(r.stdout).toMatch(/returned a non-zero code/);
    const images = await studentShell(server, id, "docker images -q filler | wc -l");
    expect(images.stdout.trim()).toBe("0");
  }, 120_000);
});
