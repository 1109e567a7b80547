/**
 * The student's home on a remote engine (`engine.remote`: its host is not this server's): a named
 * volume there (`scope.homeVolumeName`), mounted at /home/student in the workstation, instead of
 * a folder of this server bind-mounted in (workspace.ts). Kept across a reset by the engine's
 * archive endpoints: GET of the old workstation's home, PUT into the new one's.
 *
 * What the engine's local volume gives and what not: it is a plain folder of the engine's host
 * bind-mounted in, without nodev/nosuid (the local driver takes mount options only for a device
 * or tmpfs it mounts itself). What stands in for them: a device node cannot be made in it (the
 * workstation and check container have no CAP_MKNOD; the student's containers run in the
 * engine's user namespace under userns-remap, where mknod is refused, and the device cgroup
 * denies other devices anyway); a setuid file in it runs as its caller in the workstation and
 * the check container (no-new-privileges); `docker cp` and the kept home go through the
 * archive filter (proxy/archive-filter.ts), which drops device nodes and clears set-id bits.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { spawn } from "node:child_process";
import { posix } from "node:path";
import { Duplex, Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type Docker from "dockerode";
import type { Engine } from "../docker/engine.ts";
import {
  LABEL_ROLE,
  PROXY_SOCKET_DIR_IN_WORKSTATION,
  STUDENT_HOME,
  type SessionScope,
} from "../naming/scope.ts";
import { filterArchive } from "../proxy/archive-filter.ts";
import tar from "tar-stream";
import { WORKSTATION_IMAGE } from "../images/catalog.ts";

/** The role label of a session's home volume on a remote engine. */
export const HOME_VOLUME_ROLE = "home";

/** Makes the session's home volume on its engine (infra-labelled: the student's lists never show it). */
export async function createHomeVolume(engine: Engine, scope: SessionScope): Promise<void> {
  await engine.docker.createVolume({
    Name: scope.homeVolumeName,
    Driver: "local",
    Labels: { ...scope.infraLabels(), [LABEL_ROLE]: HOME_VOLUME_ROLE },
  });
}

/**
 * The workstation's home and socket folder on a remote engine: the home volume (the engine
 * copies the image's /home/student into it, owned 1000:1000 as the workstation sees it) and a
 * tmpfs at /run/stowage owned by the student, where the socket relay listens (socket-relay.ts):
 * no folder of this server is bound.
 */
export function remoteWorkstationMounts(
  scope: SessionScope,
  readOnly = false,
): {
  Mounts: Docker.MountSettings[];
  Tmpfs: Record<string, string>;
} {
  return {
    Mounts: [
      {
        Type: "volume",
        Source: scope.homeVolumeName,
        Target: STUDENT_HOME,
        ReadOnly: readOnly,
        // The check container's read-only view must not fill the volume from its image.
        ...(readOnly ? { VolumeOptions: { NoCopy: true } } : {}),
      } as Docker.MountSettings, // dockerode's type asks for every VolumeOptions field
    ],
    Tmpfs: {
      [PROXY_SOCKET_DIR_IN_WORKSTATION]: `rw,nosuid,nodev,noexec,size=1m,mode=0755,uid=1000,gid=1000`,
    },
  };
}

/** Why a kept home could not be fetched: shown to the student after the reset. */
export class HomeNotKept extends Error {}

/**
 * Saves the home of a remote engine's workstation to `file` (a tar of /home/student's contents,
 * through the archive filter), at most `limitBytes` of file content: the disk quota, which the
 * home could only pass by a little before the quota noticed. Throws HomeNotKept with the reason.
 */
export async function saveHomeArchive(
  engine: Engine,
  scope: SessionScope,
  workstationId: string | undefined,
  file: string,
  limitBytes: number,
): Promise<void> {
  let source: Readable;
  let reader: Docker.Container | undefined;
  try {
    source = await homeArchive(engine, workstationId);
  } catch (error) {
    // The workstation is gone (removed behind the server's back) but the engine answers: the
    // volume is read through a container made for it (never started: the archive endpoint
    // mounts a created container's volumes).
    if ((error as { statusCode?: number }).statusCode !== 404 && workstationId)
      throw notHandedOver(error);
    try {
      reader = await engine.docker.createContainer({
        name: `${scope.homeVolumeName}-copy`,
        Image: WORKSTATION_IMAGE,
        Cmd: ["true"],
        Labels: scope.infraLabels(),
        NetworkDisabled: true,
        HostConfig: { NetworkMode: "none", ...remoteWorkstationMounts(scope, true) },
      });
      source = await homeArchive(engine, reader.id);
    } catch (fallbackError) {
      await reader?.remove({ force: true }).catch(() => undefined);
      throw notHandedOver(fallbackError);
    }
  }
  try {
    await boundedToFile(source, file, limitBytes);
  } finally {
    await reader?.remove({ force: true }).catch(() => undefined);
  }
}

function notHandedOver(error: unknown): HomeNotKept {
  return new HomeNotKept(
    `the engine holding your files did not hand them over (${(error as Error).message.trim()})`,
  );
}

/** "/." : the home's contents, named relative to it (PUT then extracts them into the new home). */
async function homeArchive(engine: Engine, containerId: string | undefined): Promise<Readable> {
  if (!containerId) throw Object.assign(new Error("no workstation"), { statusCode: 404 });
  return (await engine.docker
    .getContainer(containerId)
    .getArchive({ path: `${STUDENT_HOME}/.` })) as Readable;
}

async function boundedToFile(source: Readable, file: string, limitBytes: number): Promise<void> {
  let bytes = 0;
  const bounded = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      // Tar headers and padding on top of the content: a quarter more than the quota, at most.
      if (bytes > limitBytes * 1.25 + 1024 * 1024)
        callback(new HomeNotKept("your files are larger than the sandbox's disk limit"));
      else callback(null, chunk);
    },
  });
  try {
    const filtered = filterArchive(source.pipe(bounded));
    bounded.on("error", (error) => filtered.stream.destroy(error));
    await pipeline(filtered.stream, asStudentOwned(), createWriteStream(file, { mode: 0o600 }));
  } catch (error) {
    await rm(file, { force: true });
    throw error instanceof HomeNotKept
      ? error
      : new HomeNotKept(`copying your files failed (${(error as Error).message})`);
  }
}

/**
 * Every entry owned by the student (1000:1000). The engine's GET archive gives the owners as
 * they are on its host (101000 under userns-remap), which its own PUT then refuses to map
 * ("cannot be mapped to a host ID"), and the remapping offset of a remote host is not known
 * here. A home's files are the student's: a file a container wrote there as root becomes theirs.
 */
function asStudentOwned(): Duplex {
  const extract = tar.extract();
  const pack = tar.pack();
  extract.on("entry", (header, body, next) => {
    // A relative link that climbs out of the home (`~/x -> ../..`) makes the engine's PUT refuse
    // the whole archive ("invalid symlink"): such a link is left out; it led outside anyway.
    if (header.type === "symlink" && climbsOut(header.name, header.linkname ?? "")) {
      body.resume();
      body.on("end", () => next());
      return;
    }
    const entry = pack.entry({ ...header, uid: 1000, gid: 1000, uname: "", gname: "" }, (error) =>
      next(error ?? undefined),
    );
    body.pipe(entry);
  });
  extract.on("finish", () => pack.finalize());
  extract.on("error", (error) => pack.destroy(error));
  // Written into the extractor, read from the packer: one duplex for pipeline().
  return Duplex.from({ writable: extract, readable: pack });
}

function climbsOut(name: string, linkname: string): boolean {
  if (linkname.startsWith("/")) return false;
  const target = posix.normalize(posix.join(posix.dirname(name), linkname));
  return target === ".." || target.startsWith("../");
}

/** Extracts a saved home (saveHomeArchive's file, or a kept folder of this host) into a workstation's home. */
export async function restoreHomeArchive(
  engine: Engine,
  workstationId: string,
  kept: { file: string } | { folder: string },
): Promise<void> {
  const tarOut =
    "file" in kept
      ? createReadStream(kept.file)
      : // A home kept on this host (a local engine's): its owners are remapped host ids, which
        // mean nothing on another engine; every entry becomes the student's.
        spawn(
          "tar",
          ["-C", kept.folder, "--numeric-owner", "--owner=1000", "--group=1000", "-cf", "-", "."],
          { stdio: ["ignore", "pipe", "ignore"] },
        ).stdout;
  const filtered = filterArchive(tarOut);
  await engine.docker.getContainer(workstationId).putArchive(filtered.stream, {
    path: STUDENT_HOME,
  });
}
