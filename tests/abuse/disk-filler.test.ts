/**
 * Disk fillers: a volume, a container's own layer, the home folder, a tmpfs. The quota (sessions/disk-quota.ts) pauses the
 * writers and tells the student; a tmpfs is bounded by its size.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";
import { startDiskQuota } from "../../sandbox/sessions/disk-quota.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let id: string;
const LIMIT = 40 * 1024 * 1024;

beforeAll(async () => {
  server = await startTestServer();
  id = (await new ApiClient(server.url).call("POST", "/api/sessions")).body.id;
});
afterAll(() => server?.close());

describe("disk fillers", () => {
  /** Starts `container` writing 4 MiB files to `dir` forever; waits for the quota's message; returns it. */
  async function fillUntilPaused(
    container: string,
    runOptions: string,
    dir: string,
  ): Promise<{ message: string; quota: ReturnType<typeof startDiskQuota> }> {
    const messages: string[] = [];
    const quota = startDiskQuota({
      docker: server.engine.docker,
      scope: server.sessions.get(id)!.scope,
      limitBytes: LIMIT,
      intervalMs: 500,
      onOver: (m) => messages.push(m),
    });
    const r = await studentShell(
      server,
      id,
      `docker run -d --name ${container} ${runOptions} busybox sh -c 'i=0; while true; do dd if=/dev/zero of=${dir}/f$i bs=1M count=4 2>/dev/null; i=$((i+1)); done'`,
    );
    expect(r.exitCode, r.output).toBe(0);
    const deadline = Date.now() + 15_000;
    while (messages.length === 0 && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 200));
    expect(messages[0], "the student is told").toMatch(
      new RegExp(`paused so they stop writing: ${container}`),
    );
    const state = await studentShell(
      server,
      id,
      `docker inspect -f '{{.State.Paused}}' ${container}`,
    );
    expect(state.stdout.trim()).toBe("true");
    return { message: messages[0]!, quota };
  }

  it("a container filling a volume is paused past the quota, with a message", async () => {
    const { message, quota } = await fillUntilPaused("filler", "-v junk:/junk", "/junk");
    try {
      expect(message).toMatch(/over its limit of 40 MiB; most of it is in the volume junk/);
    } finally {
      quota.stop();
      await studentShell(server, id, "docker rm -f filler >/dev/null; docker volume rm junk");
    }
  });

  it("a container filling its own writable layer (no volume) is paused past the quota, with a message", async () => {
    const { message, quota } = await fillUntilPaused("layerfill", "", "");
    try {
      expect(message).toMatch(/most of it is in the container layerfill's own filesystem/);
      await studentShell(server, id, "docker rm -f layerfill >/dev/null");
      expect((await quota.check()).over, "removing the container frees its layer").toBe(false);
    } finally {
      quota.stop();
    }
  });

  it("a full home folder is reported (the shell is not paused: the student must be able to clean up)", async () => {
    const messages: string[] = [];
    const quota = startDiskQuota({
      docker: server.engine.docker,
      scope: server.sessions.get(id)!.scope,
      limitBytes: LIMIT,
      intervalMs: 60_000,
      onOver: (m) => messages.push(m),
    });
    try {
      const r = await studentShell(
        server,
        id,
        "dd if=/dev/zero of=~/big bs=1M count=50 2>&1 | tail -1",
      );
      expect(r.exitCode, r.output).toBe(0);
      const result = await quota.check();
      expect(result.over).toBe(true);
      expect(result.usage.homeBytes).toBeGreaterThan(LIMIT);
      expect(messages[0]).toMatch(/most of it is in your home folder/);
      await studentShell(server, id, "rm ~/big");
      expect((await quota.check()).over).toBe(false);
    } finally {
      quota.stop();
    }
  });

  it("a tmpfs filler stops at the tmpfs size", async () => {
    const r = await studentShell(
      server,
      id,
      "docker run --rm --tmpfs /t busybox sh -c 'dd if=/dev/zero of=/t/f bs=1M count=200 2>&1 | tail -1; du -m /t/f'",
    );
    expect(r.output).toMatch(/^64\+0 records out/m);
    expect(Number(r.stdout.trim().split("\n").pop()!.split(/\s/)[0])).toBeLessThanOrEqual(64);
  });
});
