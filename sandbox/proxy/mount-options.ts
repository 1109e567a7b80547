/**
 * Mount options of newer Docker versions and of Docker's storage documentation, as mounts.ts
 * applies them: each accepted one is named here with why it is safe, the rest refused with a
 * reason. Kept apart from mounts.ts's core so the version-dependent rules read in one place.
 */
import { posix } from "node:path";
import { PolicyError } from "./refusal.ts";
import { requireApiVersion } from "./api-versions.ts";

/**
 * `--mount type=volume,src=V,dst=/x,volume-subpath=DIR` (API 1.45, Engine 26): mounts one folder
 * of the session's volume V. Only a relative path down into the volume; the engine then opens it
 * without following links out of the volume (Engine 26 refuses a subpath that resolves outside
 * it), so a link a student plants inside the volume cannot reach the host. Older engines drop the
 * field and would mount the whole volume: refused there (requireApiVersion).
 */
export function volumeSubpath(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string")
    throw new PolicyError("VolumeOptions.Subpath must be a string", 400);
  requireApiVersion("VolumeOptions.Subpath", "1.45");
  const normalized = posix.normalize(value);
  if (
    value.includes("\0") ||
    normalized.startsWith("/") ||
    normalized === ".." ||
    normalized.startsWith("../")
  ) {
    throw new PolicyError(
      `volume-subpath "${value}" must be a folder inside the volume (a relative path without ..)`,
      400,
    );
  }
  return normalized.replace(/\/+$/, "");
}

/**
 * Bind options new in API 1.44 (`bind-recursive=...`): read-only-ness of mounts below the bound
 * folder, which is the student's own. CreateMountpoint (`bind-create-src`) would make the source
 * on the host: refused, the folder must exist in the student's home.
 */
export function bindRecursionOptions(options: Record<string, unknown>): Record<string, boolean> {
  if (options.CreateMountpoint === true) {
    throw new PolicyError(
      "this sandbox does not allow bind-create-src: create the folder in your home first (mkdir)",
      403,
    );
  }
  const out: Record<string, boolean> = {};
  for (const key of ["ReadOnlyNonRecursive", "ReadOnlyForceRecursive"] as const) {
    const value = options[key];
    if (value === undefined || value === null || value === false) continue;
    if (value !== true) throw new PolicyError(`BindOptions.${key} must be true or false`, 400);
    requireApiVersion(`BindOptions.${key}`, "1.44");
    out[key] = true;
  }
  return out;
}

/**
 * `-v ~/x:/x:z` / `:Z`: SELinux relabelling, which tutorials copy. This host has no SELinux, so
 * the engine treats them as no-ops; the proxy drops them (on an SELinux host they would relabel
 * the student's folder, which the sandbox does not need).
 */
export const SELINUX_LABEL_OPTIONS: ReadonlySet<string> = new Set(["z", "Z"]);

/**
 * tmpfs options from mount(8) that only change timestamps: harmless, and in Docker's docs.
 * `nr_inodes=N` bounds the inode count (kernel memory); at most TMPFS_MAX_INODES here.
 */
export const TMPFS_TIME_FLAGS: ReadonlySet<string> = new Set([
  "noatime",
  "atime",
  "relatime",
  "norelatime",
  "strictatime",
  "nostrictatime",
  "nodiratime",
  "diratime",
]);
export const TMPFS_MAX_INODES = 1_048_576;

/** `nr_inodes=10k`: a count (k, m, g suffixes as mount(8) reads them), at most TMPFS_MAX_INODES. */
export function tmpfsInodes(path: string, value: string): string {
  const m = /^(\d+)([kmg]?)$/i.exec(value);
  if (!m)
    throw new PolicyError(
      `tmpfs ${path}: nr_inodes "${value}" must be a number (k, m or g allowed)`,
      400,
    );
  const count =
    Number(m[1]) *
    { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"];
  if (count < 1 || count > TMPFS_MAX_INODES) {
    throw new PolicyError(
      `this sandbox does not allow nr_inodes=${value} on ${path}: between 1 and ${TMPFS_MAX_INODES} here`,
      403,
    );
  }
  return `nr_inodes=${count}`;
}

/**
 * `--mount type=image` (API 1.47, Engine 28). This proxy speaks at most API 1.45, so the engine
 * behind it is spoken to as one that lacks image mounts, and the student gets that engine's own
 * answer, not a sandbox refusal.
 */
export function imageMountUnknown(): never {
  throw new PolicyError('invalid mount config for type "image": mount type unknown', 400);
}
