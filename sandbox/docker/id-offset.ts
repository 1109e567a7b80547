/**
 * Under user-namespace remapping, uid 0 in a container is a high uid on the host (100000 on
 * Debian): what the engine itself does on the host (the archive endpoint, mounting a local
 * volume's tmpfs) carries host ids, which the proxy and the checks turn back into the ids the
 * student's containers see. Asked once per engine.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import type Docker from "dockerode";
import { extract } from "tar-stream";
import { WORKSTATION_IMAGE } from "../images/catalog.ts";

const offsets = new WeakMap<Docker, Promise<number>>();

/** The host uid of a container's uid 0 on this engine (0 without remapping). */
export function engineIdOffset(docker: Docker): Promise<number> {
  let offset = offsets.get(docker);
  if (!offset) {
    offset = docker.info().then(async (info: { SecurityOptions?: string[] }) => {
      if (!(info.SecurityOptions ?? []).some((o) => o.includes("userns"))) return 0;
      return (await engineRootOwner(docker).catch(() => undefined)) ?? hostUidOffset(true);
    });
    offsets.set(docker, offset);
  }
  return offset;
}

/**
 * Asks the engine itself what uid 0 of its containers is on its host: the archive endpoint
 * hands out a remapped container's files with their host owners, so a root-owned file of the
 * workstation image comes back owned by the remapped root. A remote engine's host has its own
 * /etc/subuid, which this server cannot read. A container is made for it (never started) and
 * removed.
 */
export async function engineRootOwner(docker: Docker): Promise<number | undefined> {
  const container = await docker.createContainer({
    name: `stowage-id-probe-${randomBytes(4).toString("hex")}`,
    Image: WORKSTATION_IMAGE,
    Cmd: ["true"],
    NetworkDisabled: true,
  });
  try {
    const archive = (await container.getArchive({ path: "/etc/debian_version" })) as Readable;
    return await new Promise<number | undefined>((resolve, reject) => {
      const entries = extract();
      entries.on("entry", (header, stream) => {
        resolve(header.uid);
        stream.resume();
        archive.destroy();
      });
      entries.on("finish", () => resolve(undefined));
      entries.on("error", reject);
      archive.on("error", reject);
      archive.pipe(entries);
    });
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/**
 * The host uid that the student's uid becomes under the daemon's user-namespace remapping
 * (dockremap's first subordinate range, 100000 on Debian), or the plain uid without remapping.
 */
export async function hostUidOffset(usernsRemap: boolean): Promise<number> {
  if (!usernsRemap) return 0;
  const subuid = await readFile("/etc/subuid", "utf8").catch(() => "");
  const line = subuid.split("\n").find((l) => l.startsWith("dockremap:"));
  return line ? Number(line.split(":")[1]) : 100000;
}
