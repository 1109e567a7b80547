/**
 * The home on the host: `docker cp` of an archive can have the engine (root) make device nodes
 * and setuid files in it. They must be inert wherever the home is seen: the home and its bind
 * view are mounts of their own with nodev and nosuid, and every bind mount of them keeps that.
 */
import { open, readFile, rm } from "node:fs/promises";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";

const run = promisify(execFile);
type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let id: string;

beforeAll(async () => {
  server = await startTestServer();
  id = (await new ApiClient(server.url).call("POST", "/api/sessions")).body.id;
});
afterAll(() => server?.close());

/** The options of the mount at exactly `path`, from the host's mount table; undefined when it is no mount point. */
async function mountOptions(path: string): Promise<string[] | undefined> {
  const line = (await readFile("/proc/self/mountinfo", "utf8"))
    .split("\n")
    .find((l) => l.split(" ")[4] === path);
  return line?.split(" ")[5]?.split(",");
}

describe("the home's mount", () => {
  it("is nodev and nosuid on the host, and so is the bind view containers mount from", async () => {
    const scope = server.sessions.get(id)!.scope;
    expect(await mountOptions(scope.workspaceDir)).toEqual(
      expect.arrayContaining(["nodev", "nosuid"]),
    );
    expect(await mountOptions(scope.bindDir)).toEqual(
      expect.arrayContaining(["nodev", "nosuid", "nosymfollow"]),
    );
  });

  it("a device node placed in the home does not open as a device on the host", async () => {
    const node = join(server.sessions.get(id)!.scope.workspaceDir, "null-device");
    // What the engine's extraction of such an archive leaves (here made directly, as root).
    await run("mknod", ["-m", "666", node, "c", "1", "3"]);
    try {
      await expect(open(node, "r").then((f) => f.close())).rejects.toMatchObject({
        code: "EACCES",
      });
    } finally {
      await rm(node, { force: true });
    }
  });

  it("keeps nodev and nosuid in a container that bind-mounts a folder of the home", async () => {
    const seen = await studentShell(
      server,
      id,
      "mkdir -p ~/shared && docker run --rm -v ~/shared:/shared busybox grep ' /shared ' /proc/self/mountinfo",
      60_000,
    );
    expect(seen.exitCode, seen.output).toBe(0);
    expect(seen.stdout).toMatch(/[ ,]nosuid[ ,]/);
    expect(seen.stdout).toMatch(/[ ,]nodev[ ,]/);
  });
});
