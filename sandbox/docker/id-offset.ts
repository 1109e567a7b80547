/**
 * Under user-namespace remapping, uid 0 in a container is a high uid on the host (100000 on
 * Debian): what the engine itself does on the host (the archive endpoint, mounting a local
 * volume's tmpfs) carries host ids, which the proxy and the checks turn back into the ids the
 * student's containers see. Asked once per engine.
 */
import { readFile } from "node:fs/promises";
import type Docker from "dockerode";

const offsets = new WeakMap<Docker, Promise<number>>();

/** The host uid of a container's uid 0 on this engine (0 without remapping). */
export function engineIdOffset(docker: Docker): Promise<number> {
  let offset = offsets.get(docker);
  if (!offset) {
    offset = docker
      .info()
      .then((info: { SecurityOptions?: string[] }) =>
        hostUidOffset((info.SecurityOptions ?? []).some((o) => o.includes("userns"))),
      );
    offsets.set(docker, offset);
  }
  return offset;
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
