/**
 * A session's containers are bounded together by the session's own cgroup, not only one by one:
 * two containers each under their own 256 MiB cap cannot hold more than the session's memory.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";
import { sessionCgroupPath } from "../../sandbox/sessions/session-cgroup.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let client: ApiClient;
let id: string;
const CGROUP = "/sys/fs/cgroup";
const v2 = existsSync(join(CGROUP, "cgroup.controllers"));
const group = (controller: string) =>
  v2
    ? join(CGROUP, sessionCgroupPath(server.config.instance, id))
    : join(CGROUP, controller, sessionCgroupPath(server.config.instance, id));
const read = async (controller: string, file: string) =>
  (await readFile(join(group(controller), file), "utf8")).trim();

beforeAll(async () => {
  server = await startTestServer({ sessionMemoryMb: 300, sessionCpus: 1.5, sessionPids: 200 });
  client = new ApiClient(server.url);
  id = (await client.call("POST", "/api/sessions")).body.id;
});
afterAll(() => server?.close());

describe("the session's cgroup", () => {
  it("is made with the session's limits before any container runs", async () => {
    expect(server.sessions.get(id)!.scope.cgroupParent).toBe(
      sessionCgroupPath(server.config.instance, id),
    );
    if (v2) {
      expect(await read("", "memory.max")).toBe(String(300 * 1024 * 1024));
      expect(await read("", "cpu.max")).toBe("150000 100000");
      expect(await read("", "pids.max")).toBe("200");
    } else {
      expect(await read("memory", "memory.limit_in_bytes")).toBe(String(300 * 1024 * 1024));
      expect(await read("cpu", "cpu.cfs_quota_us")).toBe("150000");
      expect(await read("pids", "pids.max")).toBe("200");
    }
  });

  it("holds the student's containers, and their memory together stays under the session's limit", async () => {
    // Each holds ~200 MB (tail buffers a line with no end) for 20 s: each is under its own 256 MiB
    // cap, both together are over the session's 300 MiB, so the kernel kills one of them.
    const hold = "sh -c '(head -c 200m /dev/zero; sleep 20) | tail >/dev/null; echo exit=$?'";
    const r = await studentShell(
      server,
      id,
      `docker run -d --name a busybox ${hold} >/dev/null && sleep 2 && docker run -d --name b busybox ${hold} >/dev/null && sleep 3 && echo started`,
      60_000,
    );
    expect(r.stdout.trim(), r.output).toBe("started");
    const info = await server.engine.docker.getContainer(`stw-${id}-a`).inspect();
    expect(info.HostConfig.CgroupParent).toBe(sessionCgroupPath(server.config.instance, id));
    // The session's group reached its limit (each container alone stayed under its own cap)...
    const hitLimit = v2
      ? Number(/^max (\d+)/m.exec(await read("", "memory.events"))?.[1])
      : Number(await read("memory", "memory.failcnt"));
    expect(hitLimit, "the session's memory limit was reached").toBeGreaterThan(0);
    // ...and the kernel killed one of the holders to stay under it.
    const seen = await studentShell(
      server,
      id,
      "docker logs a 2>&1; docker logs b 2>&1; docker inspect -f '{{.HostConfig.CgroupParent}}' a; docker rm -f a b >/dev/null",
    );
    expect(seen.stdout).toMatch(/Killed/);
    // The group is the sandbox's business: the student's inspect shows none (proxy/internal-names.ts).
    expect(seen.stdout).not.toContain(id);
    expect(seen.stdout).not.toContain("/stowage/");
  }, 90_000);

  it("is removed with the session", async () => {
    const dir = group("memory");
    expect(existsSync(dir)).toBe(true);
    expect((await client.call("DELETE", `/api/sessions/${id}`)).status).toBe(204);
    expect(existsSync(dir)).toBe(false);
  });
});
