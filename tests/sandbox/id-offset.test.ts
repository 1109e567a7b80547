/**
 * Under user-namespace remapping, what uid 0 of a container is on the engine's host, asked of
 * the engine itself (docker/id-offset.ts): a remote engine's host has its own /etc/subuid, which
 * the server cannot read. On this host the engine's answer must be what /etc/subuid says.
 */
import { describe, expect, it } from "vitest";
import Docker from "dockerode";
import { engineIdOffset, engineRootOwner, hostUidOffset } from "../../sandbox/docker/id-offset.ts";

const docker = new Docker();

describe("the remapped root's host uid", () => {
  it("is read from the engine's archive of an image file, and matches this host's /etc/subuid", async () => {
    const remapped = (
      (await docker.info()) as { SecurityOptions?: string[] }
    ).SecurityOptions?.some((o) => o.includes("userns"));
    expect(remapped, "the test engine runs with --userns-remap").toBe(true);
    const fromEngine = await engineRootOwner(docker);
    expect(fromEngine).toBe(await hostUidOffset(true));
    expect(fromEngine).toBeGreaterThan(0);
    expect(await engineIdOffset(docker)).toBe(fromEngine);
    // The probe container is gone.
    const left = await docker.listContainers({
      all: true,
      filters: { name: ["stowage-id-probe-"] },
    });
    expect(left).toEqual([]);
  });
});
