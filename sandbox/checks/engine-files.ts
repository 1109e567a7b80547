/**
 * How checks read files from a student's volumes and containers without starting anything: the
 * engine's archive endpoint (what `docker cp` uses) on a container that mounts the volume. When
 * none does, a reader container is CREATED (never started, so it never waits for the class's
 * start slot and runs no process) with the volume mounted read-only, read, and removed again.
 * A per-session reader cannot be reused across volumes (a container's mounts are fixed when it is
 * created) and must not linger (it would keep the student's `docker volume rm` from working).
 *
 * Everything here talks to the engine directly, in engine names, so it works wherever checks run;
 * every object is first proven to be the session's own (its owner label) before it is touched.
 */
import { randomBytes } from "node:crypto";
import { extract } from "tar-stream";
import { createHash } from "node:crypto";
import type Docker from "dockerode";
import {
  CHECK_CONTAINER_PREFIX,
  LABEL_OWNER,
  LABEL_ROLE,
  type SessionScope,
} from "../naming/scope.ts";
import { engineIdOffset } from "../docker/id-offset.ts";
import type { FileEntry, FileSource } from "./api.ts";
import { readerCreations, readers } from "../docker/check-readers.ts";

/** Student name of the readers (left out of what checks and the state panel show). */
export { CHECK_CONTAINER_PREFIX };
const READER_IMAGE = "busybox:latest";
const MOUNT_POINT = "/stowage-volume";

// With user-namespace remapping the archive carries the host's ids (uid 999 in a container is
// 100999 on the host): checks compare the ids the student's containers see.
const idOffset = engineIdOffset;
const USERNS_RANGE = 65536;
const toContainerId = (id: number, offset: number) =>
  offset > 0 && id >= offset && id < offset + USERNS_RANGE ? id - offset : id;

export interface ArchiveLimits {
  /** Largest file body kept in memory (readFile). */
  maxFileBytes: number;
  /** Most bytes read from the archive in all (listFiles hashes bodies as they stream by). */
  maxTotalBytes: number;
  maxEntries: number;
}

export class ArchiveTooLargeError extends Error {}

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;

/**
 * Calls `use(containerId, pathInContainer)` with a container of the session whose filesystem has
 * `source.path`; undefined when the volume or container is not the session's (or does not exist).
 */
async function withSource<T>(
  docker: Docker,
  scope: SessionScope,
  source: FileSource,
  use: (containerId: string, path: string) => Promise<T>,
): Promise<T | undefined> {
  const relative = source.path.replace(/^\/+/, "");
  if ("container" in source) {
    const info = await docker
      .getContainer(scope.engineName(source.container))
      .inspect()
      .catch((e: unknown) => (statusOf(e) === 404 ? undefined : Promise.reject(e)));
    if (!info || info.Config.Labels?.[LABEL_OWNER] !== scope.sessionId) return undefined;
    return use(info.Id, `/${relative}`);
  }
  const volumeName = scope.engineName(source.volume);
  const volume = await docker
    .getVolume(volumeName)
    .inspect()
    .catch((e: unknown) => (statusOf(e) === 404 ? undefined : Promise.reject(e)));
  if (!volume || volume.Labels?.[LABEL_OWNER] !== scope.sessionId) return undefined;
  // A container that already mounts it: read through it, nothing is created.
  const holders = await docker.listContainers({
    all: true,
    filters: { volume: [volumeName], label: [scope.ownerFilter()] },
  });
  for (const holder of holders) {
    const mount = holder.Mounts.find((m) => m.Type === "volume" && m.Name === volumeName);
    if (!mount) continue;
    // A volume-subpath mount (Engine 26+) shows only a folder of the volume: not a view of its root.
    const spec = await docker
      .getContainer(holder.Id)
      .inspect()
      .catch(() => undefined);
    const mounts = (spec?.HostConfig?.Mounts ?? []) as {
      Target?: string;
      VolumeOptions?: { Subpath?: string };
    }[];
    if (!spec || mounts.some((m) => m.Target === mount.Destination && m.VolumeOptions?.Subpath))
      continue;
    return use(holder.Id, `${mount.Destination.replace(/\/+$/, "")}/${relative}`);
  }
  const window = { from: Date.now(), to: Number.MAX_SAFE_INTEGER };
  readerCreations.set(volumeName, [...(readerCreations.get(volumeName) ?? []), window]);
  const forget = () => {
    const left = (readerCreations.get(volumeName) ?? []).filter((w) => w !== window);
    if (left.length) readerCreations.set(volumeName, left);
    else readerCreations.delete(volumeName);
  };
  const reader = await docker
    .createContainer({
      name: scope.engineName(CHECK_CONTAINER_PREFIX + randomBytes(6).toString("hex")),
      Image: READER_IMAGE,
      Cmd: ["true"],
      Labels: { ...scope.infraLabels(), [LABEL_ROLE]: "check-reader" },
      NetworkDisabled: true,
      HostConfig: {
        NetworkMode: "none",
        Mounts: [
          {
            Type: "volume",
            Source: volumeName,
            Target: MOUNT_POINT,
            ReadOnly: true,
            VolumeOptions: { NoCopy: true } as Docker.MountSettings["VolumeOptions"],
          },
        ],
      },
    })
    .catch((error: unknown) => {
      forget();
      throw error;
    });
  window.to = Date.now();
  readers.add(reader.id);
  // Events arrive a moment after the engine acts: forget the reader later.
  setTimeout(() => {
    readers.delete(reader.id);
    forget();
  }, 60_000).unref();
  try {
    return await use(reader.id, `${MOUNT_POINT}/${relative}`);
  } finally {
    await reader.remove({ force: true, v: false }).catch(() => undefined);
  }
}

/** Streams the archive of `path` in `containerId`, calling `onEntry` for each entry (paths relative to `path`). */
async function walkArchive(
  docker: Docker,
  containerId: string,
  path: string,
  limits: ArchiveLimits,
  onEntry: (entry: FileEntry, body: Buffer | undefined) => "stop" | void,
  keepBodies: boolean,
): Promise<boolean> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker
      .getContainer(containerId)
      .getArchive({ path })) as unknown as NodeJS.ReadableStream;
  } catch (error) {
    if (statusOf(error) === 404) return false;
    throw error;
  }
  const offset = await idOffset(docker);
  const tar = extract();
  let total = 0;
  let entries = 0;
  let root: string | undefined;
  let stopped = false;
  const done = new Promise<void>((resolve, reject) => {
    tar.on("entry", (header, body, next) => {
      entries++;
      if (entries > limits.maxEntries)
        return reject(
          new ArchiveTooLargeError(`${path} holds more than ${limits.maxEntries} files`),
        );
      root ??= header.name.replace(/\/+$/, "");
      const name = header.name.replace(/\/+$/, "");
      const relative =
        name === root ? "." : name.startsWith(`${root}/`) ? name.slice(root.length + 1) : name;
      const hash = createHash("sha256");
      const chunks: Buffer[] = [];
      let size = 0;
      body.on("data", (data: unknown) => {
        const chunk = data as Buffer;
        size += chunk.length;
        total += chunk.length;
        if (total > limits.maxTotalBytes || (keepBodies && size > limits.maxFileBytes)) {
          reject(
            new ArchiveTooLargeError(
              `${path} is larger than ${Math.round((keepBodies ? limits.maxFileBytes : limits.maxTotalBytes) / 1024)} KB`,
            ),
          );
          return;
        }
        hash.update(chunk);
        if (keepBodies) chunks.push(chunk);
      });
      body.on("end", () => {
        if (stopped) return;
        const type =
          header.type === "file"
            ? "file"
            : header.type === "directory"
              ? "directory"
              : header.type === "symlink"
                ? "symlink"
                : String(header.type ?? "other");
        const answer = onEntry(
          {
            path: relative,
            type,
            size: header.size ?? size,
            mode: (header.mode ?? 0) & 0o7777,
            uid: toContainerId(header.uid ?? 0, offset),
            gid: toContainerId(header.gid ?? 0, offset),
            ...(type === "file" ? { sha256: hash.digest("hex") } : {}),
            ...(header.linkname ? { linkTarget: header.linkname } : {}),
          },
          keepBodies ? Buffer.concat(chunks) : undefined,
        );
        if (answer === "stop") {
          stopped = true;
          resolve();
          return;
        }
        next();
      });
      body.resume();
    });
    tar.on("finish", resolve);
    tar.on("error", reject);
    stream.on("error", reject);
  });
  stream.pipe(tar);
  try {
    await done;
  } finally {
    (stream as unknown as { destroy?: () => void }).destroy?.();
  }
  return true;
}

/** One file's bytes, or undefined when the volume, container or file does not exist (or it is not a regular file). */
export async function readEngineFile(
  docker: Docker,
  scope: SessionScope,
  source: FileSource,
  limits: ArchiveLimits,
): Promise<Buffer | undefined> {
  const found = await withSource(docker, scope, source, async (id, path) => {
    let file: Buffer | undefined;
    // Only the first entry matters: a folder is not a file, and its content is not read.
    const ok = await walkArchive(
      docker,
      id,
      path,
      { ...limits, maxEntries: 1 },
      (entry, body) => {
        if (entry.path === "." && entry.type === "file") file = body;
        return "stop";
      },
      true,
    );
    return ok ? file : undefined;
  });
  return found ?? undefined;
}

/** Every entry under a folder (the folder itself is "."), with owners, modes and content hashes. */
export async function listEngineFiles(
  docker: Docker,
  scope: SessionScope,
  source: FileSource,
  limits: ArchiveLimits,
): Promise<FileEntry[] | undefined> {
  return withSource(docker, scope, source, async (id, path) => {
    const entries: FileEntry[] = [];
    const ok = await walkArchive(
      docker,
      id,
      path,
      limits,
      (entry) => {
        entries.push(entry);
      },
      false,
    );
    return ok
      ? entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      : undefined;
  });
}
