/**
 * Mounts of `docker run`/`create`: `-v`, `--mount` and `--tmpfs`. Volume names become the
 * session's volumes, bind folders must lie in the student's home, tmpfs sizes are bounded.
 */
import { posix } from "node:path";
import { STUDENT_HOME } from "../naming/scope.ts";
import { parseSize } from "../sizes.ts";
import { LIMITS } from "./limits.ts";
import { PolicyError, refuse } from "./refusal.ts";
import { bool, checkName, isEmpty, num, obj, onlyKnown, optStr, str, type Json } from "./fields.ts";
import {
  SELINUX_LABEL_OPTIONS,
  TMPFS_TIME_FLAGS,
  bindRecursionOptions,
  imageMountUnknown,
  tmpfsInodes,
  volumeSubpath,
} from "./mount-options.ts";
import type { SessionObjects } from "./session-objects.ts";
import { homeVolumeMount, type HomeBind } from "./home-volume.ts";

const BIND_RULE = `bind mounts may only use folders in your home, ${STUDENT_HOME} (for example "$(pwd)/site" or ~/backup)`;

async function bindSource(objects: SessionObjects, source: string): Promise<string> {
  if (!source.startsWith("/"))
    throw new PolicyError(`bind source "${source}" must be an absolute path; ${BIND_RULE}`, 400);
  const host = await objects.hostPath(source);
  if (!host) refuse(`the bind mount of ${source}`, BIND_RULE);
  return host!;
}

/**
 * On a remote engine: the subpath of the home volume a bind source names (home-volume.ts), made
 * first when `create` (`-v`); a source outside the home is refused as on this host.
 */
async function homeSubpath(
  objects: SessionObjects,
  source: string,
  create: boolean,
): Promise<string> {
  if (!source.startsWith("/"))
    throw new PolicyError(`bind source "${source}" must be an absolute path; ${BIND_RULE}`, 400);
  const place = await objects.homePlace(source, create);
  if ("subpath" in place) return place.subpath;
  if ("missing" in place)
    throw new PolicyError(
      `invalid mount config for type "bind": bind source path does not exist: ${source}`,
      400,
    );
  return refuse(
    `the bind mount of ${source}`,
    `${BIND_RULE}; it leads to ${place.outside || "a place outside it"}`,
  );
}

export function mountTarget(field: string, target: unknown): string {
  const t = str(field, target);
  if (!t.startsWith("/"))
    throw new PolicyError(`${field}: the mount point "${t}" must be an absolute path`, 400);
  return posix.normalize(t);
}

const TMPFS_FLAGS = new Set(["rw", "ro", "noexec", "exec", "nosuid", "suid", "nodev", "dev"]);

/** `--tmpfs /path:size=10m,mode=1777`: known options only, size at most the limit. */
export function tmpfsOptions(path: string, options: string): string {
  const out: string[] = [];
  let size: number | undefined;
  for (const option of options.split(",").filter(Boolean)) {
    const [key, value] = option.split("=", 2) as [string, string | undefined];
    if (TMPFS_FLAGS.has(key) && value === undefined) out.push(key);
    else if (key === "mode" && value && /^[0-7]{3,4}$/.test(value)) out.push(option);
    else if ((key === "uid" || key === "gid") && value && /^\d+$/.test(value)) out.push(option);
    else if (TMPFS_TIME_FLAGS.has(key) && value === undefined) out.push(key);
    else if (key === "nr_inodes" && value) out.push(tmpfsInodes(path, value));
    else if (key === "size" && value) {
      size = parseSize(value);
      if (size === undefined)
        throw new PolicyError(
          `tmpfs ${path}: size "${value}" must be a number of bytes with k, m or g`,
          400,
        );
    } else
      refuse(
        `the tmpfs option "${option}" on ${path}`,
        "allowed are size, mode, uid, gid, nr_inodes, ro/rw, noexec, nosuid, nodev, noatime and the other atime flags",
      );
  }
  if (size !== undefined && size > LIMITS.tmpfsBytes)
    refuse(`a tmpfs of ${size} bytes on ${path}`, `at most ${LIMITS.tmpfsBytes / 1024 ** 2}m here`);
  out.push(`size=${size ?? LIMITS.tmpfsBytes}`);
  return out.join(",");
}

const BIND_OPTIONS = new Set(["ro", "rw", "nocopy", "consistent", "cached", "delegated"]);
/**
 * Propagation that keeps the mount to itself, the engine's default anyway: allowed by name
 * (Docker's docs write `bind-propagation=rprivate`, and the CLI asks for it with
 * `bind-recursive=readonly`). Shared and slave propagation pass mounts between the host and the
 * container, so a mount made on the host under the bound folder would appear inside.
 */
const PRIVATE_PROPAGATION = new Set(["private", "rprivate"]);
const PROPAGATION_REFUSED =
  "only private and rprivate (the default) are allowed: shared and slave propagation pass mounts between the host and the container";

/** Resolves `-v` entries: volume names to the session's volumes, paths into the workspace. */
export async function binds(
  objects: SessionObjects,
  list: string[],
): Promise<{ binds: string[]; targets: string[]; mounts: Json[]; homeBinds: HomeBind[] }> {
  const out: string[] = [];
  const targets: string[] = [];
  const homeMounts: Json[] = [];
  const homeBinds: HomeBind[] = [];
  for (const entry of list) {
    const parts = entry.split(":");
    if (parts.length < 2 || parts.length > 3)
      throw new PolicyError(`invalid volume specification "${entry}"`, 400);
    const [source, rawTarget, rawOptions = ""] = parts as [string, string, string?];
    const target = mountTarget(`-v ${entry}`, rawTarget);
    const options = rawOptions
      .split(",")
      .filter((option) => option && !SELINUX_LABEL_OPTIONS.has(option));
    for (const option of options) {
      if (/^r?(shared|slave)$/.test(option))
        refuse(`the propagation "${option}" in -v ${entry}`, PROPAGATION_REFUSED);
      if (!BIND_OPTIONS.has(option) && !PRIVATE_PROPAGATION.has(option))
        refuse(
          `the mount option "${option}" in -v ${entry}`,
          "allowed are ro, rw, nocopy, private/rprivate and z/Z (no SELinux here: ignored)",
        );
    }
    if (source.startsWith("/") && objects.homeIsVolume) {
      // A home folder on a remote engine: the home volume at its subpath (home-volume.ts).
      const readOnly = options.includes("ro");
      const subpath = await homeSubpath(objects, source, true);
      homeMounts.push(homeVolumeMount(objects.scope, subpath, target, readOnly));
      homeBinds.push({ source, target, form: "bind", readOnly });
      targets.push(target);
      continue;
    }
    const engineSource = source.startsWith("/")
      ? await bindSource(objects, source)
      : await objects.volumeForMount(checkName("volume", source));
    out.push([engineSource, target, options.join(",")].filter(Boolean).join(":"));
    targets.push(target);
  }
  return { binds: out, targets, mounts: homeMounts, homeBinds };
}

/** Resolves `--mount` entries of every type. */
export async function mounts(
  objects: SessionObjects,
  list: unknown[],
): Promise<{ mounts: Json[]; targets: string[]; homeBinds: HomeBind[] }> {
  const out: Json[] = [];
  const targets: string[] = [];
  const homeBinds: HomeBind[] = [];
  for (const [i, raw] of list.entries()) {
    const m = obj(`Mounts[${i}]`, raw);
    onlyKnown(`Mounts[${i}].`, m, [
      "Type",
      "Source",
      "Target",
      "ReadOnly",
      "Consistency",
      "BindOptions",
      "VolumeOptions",
      "TmpfsOptions",
    ]);
    const type = str(`Mounts[${i}].Type`, m.Type);
    const target = mountTarget(`--mount target`, m.Target);
    const mount: Json = { Type: type, Target: target, ReadOnly: bool("ReadOnly", m.ReadOnly) };
    if (typeof m.Consistency === "string" && m.Consistency) mount.Consistency = m.Consistency;
    if (type === "bind") {
      const options = obj("BindOptions", m.BindOptions);
      onlyKnown("BindOptions.", options, [
        "Propagation",
        "NonRecursive",
        "CreateMountpoint",
        "ReadOnlyNonRecursive",
        "ReadOnlyForceRecursive",
      ]);
      const propagation = optStr("BindOptions.Propagation", options.Propagation) ?? "";
      if (propagation && !PRIVATE_PROPAGATION.has(propagation))
        refuse(`bind-propagation=${propagation}`, PROPAGATION_REFUSED);
      const bindOptions = {
        ...(propagation ? { Propagation: propagation } : {}),
        ...(!isEmpty(options.NonRecursive) ? { NonRecursive: true } : {}),
        ...bindRecursionOptions(options),
      };
      if (!isEmpty(m.VolumeOptions) || !isEmpty(m.TmpfsOptions))
        throw new PolicyError("a bind mount takes no volume or tmpfs options", 400);
      const source = str("--mount source", m.Source);
      if (objects.homeIsVolume) {
        // A home folder on a remote engine: the home volume at its subpath (home-volume.ts).
        // The bind options left are the default propagation and recursion, which a volume
        // without mounts below it has anyway. A missing source is an error, as for a bind.
        const subpath = await homeSubpath(objects, source, false);
        out.push(homeVolumeMount(objects.scope, subpath, target, mount.ReadOnly === true));
        homeBinds.push({ source, target, form: "mount", readOnly: mount.ReadOnly === true });
        targets.push(target);
        continue;
      }
      if (Object.keys(bindOptions).length) mount.BindOptions = bindOptions;
      mount.Source = await bindSource(objects, source);
    } else if (type === "volume") {
      const options = obj("VolumeOptions", m.VolumeOptions);
      onlyKnown("VolumeOptions.", options, ["NoCopy", "Labels", "DriverConfig", "Subpath"]);
      if (!isEmpty(options.DriverConfig))
        refuse(
          "volume driver options (volume-driver / volume-opt)",
          "the local driver's options can mount any host path",
        );
      const subpath = volumeSubpath(options.Subpath); // checked before the volume is made
      const source = optStr("--mount source", m.Source);
      mount.Source = source
        ? await objects.volumeForMount(checkName("volume", source))
        : await objects.anonymousVolume();
      if (options.NoCopy === true || subpath)
        mount.VolumeOptions = {
          ...(options.NoCopy === true ? { NoCopy: true } : {}),
          ...(subpath ? { Subpath: subpath } : {}),
        };
      if (!isEmpty(m.BindOptions) || !isEmpty(m.TmpfsOptions))
        throw new PolicyError("a volume mount takes no bind or tmpfs options", 400);
    } else if (type === "tmpfs") {
      const options = obj("TmpfsOptions", m.TmpfsOptions);
      onlyKnown("TmpfsOptions.", options, ["SizeBytes", "Mode"]);
      const size = num("tmpfs-size", options.SizeBytes);
      if (size > LIMITS.tmpfsBytes)
        refuse(`a tmpfs of ${size} bytes`, `at most ${LIMITS.tmpfsBytes / 1024 ** 2}m here`);
      mount.TmpfsOptions = {
        SizeBytes: size > 0 ? size : LIMITS.tmpfsBytes,
        ...(options.Mode ? { Mode: num("tmpfs-mode", options.Mode) } : {}),
      };
      if (!isEmpty(m.Source)) throw new PolicyError("a tmpfs mount takes no source", 400);
    } else if (type === "image") {
      imageMountUnknown();
    } else {
      refuse(`mounts of type ${type}`, "use volume, bind or tmpfs");
    }
    out.push(mount);
    targets.push(target);
  }
  return { mounts: out, targets, homeBinds };
}
