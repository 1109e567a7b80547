/**
 * THE SANDBOX POLICY. Every rule about what a student's Docker client may ask of the shared
 * engine is in this file: which endpoints exist, which fields each request body may carry, how
 * names and paths are scoped to the session, and the resource limits. The proxy
 * (proxy-server.ts) only carries requests; it asks this file what to send.
 *
 * Principles (docs/hardening.md has the threats and what answers each):
 * - allow-list: an endpoint, field, option or driver not named here is refused;
 * - the request to the engine is rebuilt from validated fields, never the student's bytes;
 * - every object named is resolved to one of the session's own (by label) before use;
 * - a refusal says what was refused and why, as `Error response from daemon: ...`.
 */
import { posix } from "node:path";
import { randomBytes } from "node:crypto";
import { LABEL_ANON_VOLUMES, LABEL_AUTOREMOVE, LABEL_PORTS, STUDENT_HOME, bridgeName, type SessionScope } from "../naming/scope.ts";
import type { PublishedPort } from "../naming/published-ports.ts";
import { parseSize } from "../sizes.ts";
import { BOUNDS, boundContainerCreate, boundExecCreate, boundHealthcheck, boundLabels, boundPublishedPorts } from "./bounds.ts";
import { BUILD_QUERY } from "./build-query.ts"; // [builds hook]
import { SELINUX_LABEL_OPTIONS, TMPFS_TIME_FLAGS, bindRecursionOptions, imageMountUnknown, tmpfsInodes, volumeSubpath } from "./mount-options.ts";

/** A refusal: the proxy answers with this status and `{"message": ...}`, which the CLI prints. */
export class PolicyError extends Error {
  readonly status: number;
  constructor(message: string, status = 403) {
    super(message);
    this.status = status;
  }
}

const refuse = (what: string, why = ""): never => {
  throw new PolicyError(`this sandbox does not allow ${what}${why ? `: ${why}` : ""}`);
};

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

/**
 * What one session's containers may use. Clamped silently when unset, refused when exceeded.
 * Limits over all of a session's containers together: sessions/session-cgroup.ts; container
 * starts across the class are admitted a few at a time: docker/engine-admission.ts.
 */
export const LIMITS = {
  memoryBytes: 256 * 1024 * 1024,
  nanoCpus: 500_000_000, // half a core
  cpuShares: 1024, // the engine's default weight: a container may ask for less, never for more than its neighbours
  pids: 128,
  /**
   * Each container's memory is capped, the sum over sessions is not: should the host run out,
   * the kernel's OOM killer must pick a student's process, not the server (250, oom-order.ts) or
   * the engine (0: it cannot be lowered here, see oom-order.ts). Raised to this when unset;
   * lowering it would need a capability the server lacks.
   */
  oomScoreAdjFloor: 500,
  shmBytes: 64 * 1024 * 1024,
  tmpfsBytes: 64 * 1024 * 1024,
  containersPerSession: 20,
  volumesPerSession: 30,
  networksPerSession: 5,
  logMaxSize: "1m",
  logMaxFile: "2",
  /** Sizes and counts inside a request (labels, env, mounts, ports): bounds.ts. */
  jsonBodyBytes: BOUNDS.jsonBodyBytes,
  proxyConnections: 64,
  archiveBodyBytes: 200 * 1024 * 1024,
} as const;

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------

/** What the proxy does with a request, by endpoint. The proxy implements each kind. */
export type EndpointKind =
  | "ping" | "version" | "info" | "system.df" | "events"
  | "containers.list" | "containers.create" | "containers.prune"
  | "container.inspect" | "container.op" | "container.stream" | "container.delete" | "container.update"
  | "container.attach" | "container.archive" | "container.rename"
  | "exec.create" | "exec.start" | "exec.op"
  | "volumes.list" | "volumes.create" | "volumes.prune" | "volume.inspect" | "volume.delete"
  | "networks.list" | "networks.create" | "networks.prune" | "network.inspect" | "network.delete" | "network.connect"
  | "images.list" | "image.inspect"
  | "image.build" | "image.tag" | "image.delete"; // [builds hook] own images: build.ts

interface Endpoint {
  method: string;
  path: RegExp;
  kind?: EndpointKind;
  /** Query parameters passed on (anything else is dropped). */
  query?: string[];
  /** Set for endpoints that exist in the engine but never here, with the reason. */
  refused?: string;
}

const ID = "([^/]+)";
const e = (method: string, path: string, kind: EndpointKind, query: string[] = []): Endpoint => ({ method, path: new RegExp(`^${path}$`), kind, query });
const no = (method: string, path: string, refused: string): Endpoint => ({ method, path: new RegExp(`^${path}$`), refused });

const IMAGES_HERE = "the images here are built in, so use one of them (see `docker images`)";

export const ENDPOINTS: Endpoint[] = [
  e("HEAD", "/_ping", "ping"),
  e("GET", "/_ping", "ping"),
  e("GET", "/version", "version"),
  e("GET", "/info", "info"),
  e("GET", "/system/df", "system.df"),
  e("GET", "/events", "events", ["since", "until", "filters"]),

  e("GET", "/containers/json", "containers.list", ["all", "limit", "size", "filters"]),
  e("POST", "/containers/create", "containers.create", ["name"]),
  e("POST", "/containers/prune", "containers.prune", ["filters"]),
  e("GET", `/containers/${ID}/json`, "container.inspect", ["size"]),
  e("POST", `/containers/${ID}/start`, "container.op"),
  e("POST", `/containers/${ID}/stop`, "container.op", ["t"]),
  e("POST", `/containers/${ID}/restart`, "container.op", ["t"]),
  e("POST", `/containers/${ID}/kill`, "container.op", ["signal"]),
  e("POST", `/containers/${ID}/pause`, "container.op"),
  e("POST", `/containers/${ID}/unpause`, "container.op"),
  e("POST", `/containers/${ID}/resize`, "container.op", ["h", "w"]),
  e("POST", `/containers/${ID}/wait`, "container.stream", ["condition"]),
  e("GET", `/containers/${ID}/top`, "container.op", ["ps_args"]),
  e("GET", `/containers/${ID}/changes`, "container.op"),
  e("GET", `/containers/${ID}/logs`, "container.stream", ["follow", "stdout", "stderr", "since", "until", "timestamps", "tail", "details"]),
  e("GET", `/containers/${ID}/stats`, "container.stream", ["stream", "one-shot"]),
  e("GET", `/containers/${ID}/export`, "container.stream"),
  e("POST", `/containers/${ID}/rename`, "container.rename", ["name"]),
  e("POST", `/containers/${ID}/update`, "container.update"),
  e("POST", `/containers/${ID}/attach`, "container.attach", ["stream", "stdin", "stdout", "stderr", "logs", "detachKeys"]),
  e("HEAD", `/containers/${ID}/archive`, "container.archive", ["path"]),
  e("GET", `/containers/${ID}/archive`, "container.archive", ["path"]),
  e("PUT", `/containers/${ID}/archive`, "container.archive", ["path", "noOverwriteDirNonDir", "copyUIDGID"]),
  e("DELETE", `/containers/${ID}`, "container.delete", ["v", "force", "link"]),
  e("POST", `/containers/${ID}/exec`, "exec.create"),
  e("POST", `/exec/${ID}/start`, "exec.start"),
  e("POST", `/exec/${ID}/resize`, "exec.op", ["h", "w"]),
  e("GET", `/exec/${ID}/json`, "exec.op"),

  e("GET", "/volumes", "volumes.list", ["filters"]),
  e("POST", "/volumes/create", "volumes.create"),
  e("POST", "/volumes/prune", "volumes.prune", ["filters"]),
  e("GET", `/volumes/${ID}`, "volume.inspect"),
  e("DELETE", `/volumes/${ID}`, "volume.delete", ["force"]),

  e("GET", "/networks", "networks.list", ["filters"]),
  e("POST", "/networks/create", "networks.create"),
  e("POST", "/networks/prune", "networks.prune", ["filters"]),
  e("GET", `/networks/${ID}`, "network.inspect", ["verbose", "scope"]),
  e("DELETE", `/networks/${ID}`, "network.delete"),
  e("POST", `/networks/${ID}/connect`, "network.connect"),
  e("POST", `/networks/${ID}/disconnect`, "network.connect"),

  e("GET", "/images/json", "images.list", ["all", "filters", "digests"]),
  e("GET", "/images/(.+)/json", "image.inspect"),
  e("GET", "/images/(.+)/history", "image.inspect"),

  no("POST", "/images/create", `pulling or importing images (there is no registry here); ${IMAGES_HERE}`),
  e("POST", "/build", "image.build", BUILD_QUERY), // [builds hook] build.ts
  no("POST", "/build/prune", "pruning the build cache"),
  no("POST", "/images/load", `loading images; ${IMAGES_HERE}`),
  no("GET", "/images/get", "saving images"),
  no("GET", "/images/(.+)/get", "saving images"),
  e("POST", "/images/(.+)/tag", "image.tag", ["repo", "tag"]), // [builds hook] own tags only: build.ts
  no("POST", "/images/(.+)/push", "pushing images"),
  e("DELETE", "/images/(.+)", "image.delete", ["force", "noprune"]), // [builds hook] own images only: build.ts
  no("POST", "/images/prune", "pruning images: they are shared by every student"),
  no("GET", "/images/search", "searching a registry (there is none here)"),
  no("POST", "/commit", "docker commit: images are shared by every student"),
  no("POST", "/auth", "logging in to a registry"),
  // CLI 26's `docker build` is buildx, which asks for these first: the same answer as /build.
  no("POST", "/session", `building images (BuildKit); ${IMAGES_HERE}`),
  no("POST", "/grpc", `building images (BuildKit); ${IMAGES_HERE}`),
  no("GET", `/containers/${ID}/attach/ws`, "websocket attach"),
];

const REFUSED_PREFIXES: [RegExp, string][] = [
  [/^\/(swarm|nodes|services|tasks|secrets|configs)(\/|$)/, "Swarm"],
  [/^\/plugins(\/|$)/, "plugins"],
  [/^\/distribution(\/|$)/, "registry lookups"],
];

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new PolicyError(`invalid escape in ${JSON.stringify(part.slice(0, 100))}`, 400);
  }
}

export interface MatchedEndpoint {
  kind: EndpointKind;
  params: string[];
  query: URLSearchParams;
}

/** Finds the endpoint for a request, or throws the refusal the student sees. */
export function matchEndpoint(method: string, path: string, rawQuery: URLSearchParams): MatchedEndpoint {
  for (const endpoint of ENDPOINTS) {
    if (endpoint.method !== method) continue;
    const match = endpoint.path.exec(path);
    if (!match) continue;
    if (endpoint.refused) refuse(endpoint.refused);
    const query = new URLSearchParams();
    for (const key of endpoint.query ?? []) {
      const values = rawQuery.getAll(key);
      if (values.length > 1) throw new PolicyError(`the query parameter ${key} is given twice`, 400);
      if (values.length === 1) query.set(key, values[0]!);
    }
    const psArgs = query.get("ps_args");
    if (psArgs !== null && !/^[A-Za-z0-9 ,=_-]{0,64}$/.test(psArgs)) throw new PolicyError("ps_args: use ps options (letters, digits, - , =)", 400);
    return { kind: endpoint.kind!, params: match.slice(1).map(decodePart), query };
  }
  // `docker inspect NAME` asks for each kind of object in turn, plugins too: "not found" lets the
  // CLI go on and end with "No such object: NAME", as at home.
  const plugin = method === "GET" ? /^\/plugins\/([^/]+)\/json$/.exec(path) : null;
  if (plugin) throw new PolicyError(`plugin "${decodePart(plugin[1]!).slice(0, 100)}" not found`, 404);
  for (const [pattern, what] of REFUSED_PREFIXES) if (pattern.test(path)) refuse(what);
  throw new PolicyError(`this sandbox does not offer ${method} ${path}`, 404);
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}$/;

export function checkName(kind: string, name: string): string {
  if (!NAME.test(name)) throw new PolicyError(`invalid ${kind} name "${name}": use letters, digits, "_", "." and "-", starting with a letter or digit`, 400);
  return name;
}

/**
 * An image reference as the engine's path names it (`busybox`, `library/busybox:1.36`,
 * `sha256:...`, `name@sha256:...`). No `..`, no empty segment, no character the engine would
 * decode into something else: `/images/a%2F..%2F..%2Fcontainers%2FID/json` must never reach
 * another route after the engine cleans the path.
 */
const IMAGE_REF = /^[a-z0-9][a-z0-9._-]*(?::[0-9]+)?(?:\/[a-z0-9][a-z0-9._-]*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[a-z0-9]+:[a-f0-9]{32,})?$|^(?:sha256:)?[a-f0-9]{1,64}$/;

export function imageRef(ref: string): string {
  if (!IMAGE_REF.test(ref) || ref.split("/").some((s) => s === ".." || s === ".")) throw new PolicyError(`No such image: ${ref}`, 404);
  return ref;
}

// ---------------------------------------------------------------------------------------------
// Field checks
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || v === false || v === 0 || v === "" ||
  (Array.isArray(v) && v.every(isEmpty)) ||
  (typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every(isEmpty));

function str(field: string, v: unknown): string {
  if (typeof v !== "string") throw new PolicyError(`${field} must be a string`, 400);
  return v;
}
function optStr(field: string, v: unknown): string | undefined {
  return v === undefined || v === null ? undefined : str(field, v);
}
function bool(field: string, v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw new PolicyError(`${field} must be true or false`, 400);
  return v;
}
function num(field: string, v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new PolicyError(`${field} must be a number`, 400);
  return v;
}
function strList(field: string, v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) throw new PolicyError(`${field} must be a list of strings`, 400);
  return v as string[];
}
function obj(field: string, v: unknown): Json {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new PolicyError(`${field} must be an object`, 400);
  return v as Json;
}
function strMap(field: string, v: unknown): Record<string, string> {
  const o = obj(field, v);
  for (const [k, val] of Object.entries(o)) if (typeof val !== "string") throw new PolicyError(`${field}.${k} must be a string`, 400);
  return o as Record<string, string>;
}

/** Student labels: anything but our own `stowage.*` keys. */
function studentLabels(field: string, v: unknown): Record<string, string> {
  const labels = strMap(field, v);
  for (const key of Object.keys(labels)) if (key.toLowerCase().startsWith("stowage.")) refuse(`the label ${key}`, "stowage.* labels belong to the sandbox");
  boundLabels(field, labels);
  return labels;
}

/** Rejects a body carrying a field this file does not name. */
function onlyKnown(where: string, body: Json, known: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!known.includes(key)) throw new PolicyError(`this sandbox does not know the setting ${where}${key}`, 400);
  }
}

// ---------------------------------------------------------------------------------------------
// What the policy needs to know about the session's objects
// ---------------------------------------------------------------------------------------------

/** Lookups the proxy provides; each answers only with the session's own objects. */
export interface SessionObjects {
  scope: SessionScope;
  /** The full ID of the session's container named or ID(-prefixed) by `ref`, or a 404 PolicyError. */
  containerId(ref: string): Promise<string>;
  /** The engine name of the session's volume, creating it (owned, labelled) if it does not exist. */
  volumeForMount(studentName: string): Promise<string>;
  /** Creates a labelled volume standing in for an anonymous one; returns its engine name. */
  anonymousVolume(): Promise<string>;
  /** The engine name of the session's network called `ref`, or a 404 PolicyError. */
  networkName(ref: string): Promise<string>;
  /** The engine's reference for an image the student names: their own or a course image, else a 404 PolicyError (own-images.ts). [builds hook] */
  resolveImage(ref: string): Promise<string>;
  /** The VOLUME paths an image declares, or a 404 PolicyError (`No such image`). */
  imageVolumes(image: string): Promise<string[]>;
  /** The host path of a student's path in the workspace, or undefined when outside it. */
  hostPath(studentPath: string): Promise<string | undefined>;
  /** How many containers / volumes the session has now. */
  counts(): Promise<{ containers: number; volumes: number; networks: number }>;
}

const BIND_RULE = `bind mounts may only use folders in your home, ${STUDENT_HOME} (for example "$(pwd)/site" or ~/backup)`;

async function bindSource(objects: SessionObjects, source: string): Promise<string> {
  if (!source.startsWith("/")) throw new PolicyError(`bind source "${source}" must be an absolute path; ${BIND_RULE}`, 400);
  const host = await objects.hostPath(source);
  if (!host) refuse(`the bind mount of ${source}`, BIND_RULE);
  return host!;
}

function mountTarget(field: string, target: unknown): string {
  const t = str(field, target);
  if (!t.startsWith("/")) throw new PolicyError(`${field}: the mount point "${t}" must be an absolute path`, 400);
  return posix.normalize(t);
}

const TMPFS_FLAGS = new Set(["rw", "ro", "noexec", "exec", "nosuid", "suid", "nodev", "dev"]);

/** `--tmpfs /path:size=10m,mode=1777`: known options only, size at most the limit. */
function tmpfsOptions(path: string, options: string): string {
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
      if (size === undefined) throw new PolicyError(`tmpfs ${path}: size "${value}" must be a number of bytes with k, m or g`, 400);
    } else refuse(`the tmpfs option "${option}" on ${path}`, "allowed are size, mode, uid, gid, nr_inodes, ro/rw, noexec, nosuid, nodev, noatime and the other atime flags");
  }
  if (size !== undefined && size > LIMITS.tmpfsBytes) refuse(`a tmpfs of ${size} bytes on ${path}`, `at most ${LIMITS.tmpfsBytes / 1024 ** 2}m here`);
  out.push(`size=${size ?? LIMITS.tmpfsBytes}`);
  return out.join(",");
}

const BIND_OPTIONS = new Set(["ro", "rw", "nocopy", "consistent", "cached", "delegated"]);

/** Resolves `-v` entries: volume names to the session's volumes, paths into the workspace. */
async function binds(objects: SessionObjects, list: string[]): Promise<{ binds: string[]; targets: string[] }> {
  const out: string[] = [];
  const targets: string[] = [];
  for (const entry of list) {
    const parts = entry.split(":");
    if (parts.length < 2 || parts.length > 3) throw new PolicyError(`invalid volume specification "${entry}"`, 400);
    const [source, rawTarget, rawOptions = ""] = parts as [string, string, string?];
    const target = mountTarget(`-v ${entry}`, rawTarget);
    const options = rawOptions.split(",").filter((option) => option && !SELINUX_LABEL_OPTIONS.has(option));
    for (const option of options) {
      if (!BIND_OPTIONS.has(option)) refuse(`the mount option "${option}" in -v ${entry}`, "allowed are ro, rw, nocopy and z/Z (no SELinux here: ignored); mount propagation is not");
    }
    const engineSource = source.startsWith("/") ? await bindSource(objects, source) : await objects.volumeForMount(checkName("volume", source));
    out.push([engineSource, target, options.join(",")].filter(Boolean).join(":"));
    targets.push(target);
  }
  return { binds: out, targets };
}

/** Resolves `--mount` entries of every type. */
async function mounts(objects: SessionObjects, list: unknown[]): Promise<{ mounts: Json[]; targets: string[] }> {
  const out: Json[] = [];
  const targets: string[] = [];
  for (const [i, raw] of list.entries()) {
    const m = obj(`Mounts[${i}]`, raw);
    onlyKnown(`Mounts[${i}].`, m, ["Type", "Source", "Target", "ReadOnly", "Consistency", "BindOptions", "VolumeOptions", "TmpfsOptions"]);
    const type = str(`Mounts[${i}].Type`, m.Type);
    const target = mountTarget(`--mount target`, m.Target);
    const mount: Json = { Type: type, Target: target, ReadOnly: bool("ReadOnly", m.ReadOnly) };
    if (typeof m.Consistency === "string" && m.Consistency) mount.Consistency = m.Consistency;
    if (type === "bind") {
      const options = obj("BindOptions", m.BindOptions);
      onlyKnown("BindOptions.", options, ["Propagation", "NonRecursive", "CreateMountpoint", "ReadOnlyNonRecursive", "ReadOnlyForceRecursive"]);
      if (!isEmpty(options.Propagation)) refuse("bind-propagation", "mount propagation could reach the host's mounts");
      const bindOptions = { ...(!isEmpty(options.NonRecursive) ? { NonRecursive: true } : {}), ...bindRecursionOptions(options) };
      if (Object.keys(bindOptions).length) mount.BindOptions = bindOptions;
      mount.Source = await bindSource(objects, str("--mount source", m.Source));
      if (!isEmpty(m.VolumeOptions) || !isEmpty(m.TmpfsOptions)) throw new PolicyError("a bind mount takes no volume or tmpfs options", 400);
    } else if (type === "volume") {
      const options = obj("VolumeOptions", m.VolumeOptions);
      onlyKnown("VolumeOptions.", options, ["NoCopy", "Labels", "DriverConfig", "Subpath"]);
      if (!isEmpty(options.DriverConfig)) refuse("volume driver options (volume-driver / volume-opt)", "the local driver's options can mount any host path");
      const subpath = volumeSubpath(options.Subpath); // checked before the volume is made
      const source = optStr("--mount source", m.Source);
      mount.Source = source ? await objects.volumeForMount(checkName("volume", source)) : await objects.anonymousVolume();
      if (options.NoCopy === true || subpath) mount.VolumeOptions = { ...(options.NoCopy === true ? { NoCopy: true } : {}), ...(subpath ? { Subpath: subpath } : {}) };
      if (!isEmpty(m.BindOptions) || !isEmpty(m.TmpfsOptions)) throw new PolicyError("a volume mount takes no bind or tmpfs options", 400);
    } else if (type === "tmpfs") {
      const options = obj("TmpfsOptions", m.TmpfsOptions);
      onlyKnown("TmpfsOptions.", options, ["SizeBytes", "Mode"]);
      const size = num("tmpfs-size", options.SizeBytes);
      if (size > LIMITS.tmpfsBytes) refuse(`a tmpfs of ${size} bytes`, `at most ${LIMITS.tmpfsBytes / 1024 ** 2}m here`);
      mount.TmpfsOptions = { SizeBytes: size > 0 ? size : LIMITS.tmpfsBytes, ...(options.Mode ? { Mode: num("tmpfs-mode", options.Mode) } : {}) };
      if (!isEmpty(m.Source)) throw new PolicyError("a tmpfs mount takes no source", 400);
    } else if (type === "image") {
      imageMountUnknown();
    } else {
      refuse(`mounts of type ${type}`, "use volume, bind or tmpfs");
    }
    out.push(mount);
    targets.push(target);
  }
  return { mounts: out, targets };
}

/**
 * A container named in another container's settings: only the session's own. Answered with 400,
 * not 404, so the CLI does not mistake it for a missing image and try to pull.
 */
async function ownContainer(objects: SessionObjects, ref: string): Promise<string> {
  return as400(objects.containerId(ref));
}

async function as400<T>(lookup: Promise<T>): Promise<T> {
  try {
    return await lookup;
  } catch (error) {
    if (error instanceof PolicyError && error.status === 404) throw new PolicyError(error.message, 400);
    throw error;
  }
}

/** `--pid/--ipc/--network container:NAME`: only the session's own containers. */
async function namespaceMode(objects: SessionObjects, flag: string, value: string, allowed: string[]): Promise<string> {
  if (allowed.includes(value)) return value;
  if (value.startsWith("container:")) return `container:${await ownContainer(objects, value.slice("container:".length))}`;
  if (value === "host") return refuse(`${flag} host`, "the host's namespaces are not yours");
  return refuse(`${flag} ${value}`);
}

function clampResource(flag: string, asked: number, max: number, unit: (n: number) => string): number {
  if (asked < 0 || asked > max) refuse(`${flag} ${unit(asked)}`, `at most ${unit(max)} per container here`);
  return asked === 0 ? max : asked;
}
/** --cpu-shares is a weight against every other container on the engine: at most the default. */
function cpuShares(asked: number): number {
  if (asked < 0 || asked > LIMITS.cpuShares) refuse(`--cpu-shares ${asked}`, `at most ${LIMITS.cpuShares} (the default weight) here`);
  return asked;
}
const mib = (n: number) => `${Math.round(n / 1024 ** 2)} MiB`;
const cpus = (n: number) => `${n / 1e9} CPUs`;

/** HostConfig fields a student may never set, with the CLI flag that sets them. */
const FORBIDDEN_HOST_CONFIG: Record<string, string> = {
  Privileged: "--privileged",
  CapAdd: "--cap-add",
  Devices: "--device",
  DeviceRequests: "--gpus",
  DeviceCgroupRules: "--device-cgroup-rule",
  SecurityOpt: "--security-opt",
  Sysctls: "--sysctl",
  CgroupParent: "--cgroup-parent",
  Runtime: "--runtime",
  StorageOpt: "--storage-opt",
  MaskedPaths: "changing the masked paths",
  ReadonlyPaths: "changing the read-only paths",
  UsernsMode: "--userns",
  UTSMode: "--uts",
  Cgroup: "--cgroup",
  VolumeDriver: "--volume-driver",
  Links: "--link (containers on your network reach each other by name)",
  Isolation: "--isolation",
  OomKillDisable: "--oom-kill-disable",
  Ulimits: "--ulimit",
  CpuPeriod: "--cpu-period (use --cpus)",
  CpuQuota: "--cpu-quota (use --cpus)",
  CpuRealtimePeriod: "--cpu-rt-period",
  CpuRealtimeRuntime: "--cpu-rt-runtime",
  BlkioWeight: "--blkio-weight",
  BlkioWeightDevice: "--blkio-weight-device",
  BlkioDeviceReadBps: "--device-read-bps",
  BlkioDeviceWriteBps: "--device-write-bps",
  BlkioDeviceReadIOps: "--device-read-iops",
  BlkioDeviceWriteIOps: "--device-write-iops",
  KernelMemory: "--kernel-memory",
  KernelMemoryTCP: "--kernel-memory-tcp",
  CpuCount: "--cpu-count",
  CpuPercent: "--cpu-percent",
  IOMaximumIOps: "--io-maxiops",
  IOMaximumBandwidth: "--io-maxbandwidth",
  Annotations: "annotations",
};

const CONFIG_KEYS = ["Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "ExposedPorts", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck", "ArgsEscaped", "Image", "Volumes", "WorkingDir", "Entrypoint", "NetworkDisabled", "MacAddress", "OnBuild", "Labels", "StopSignal", "StopTimeout", "Shell", "HostConfig", "NetworkingConfig"] as const;
const HOST_CONFIG_KEYS = ["Binds", "Mounts", "Tmpfs", "VolumesFrom", "NetworkMode", "PortBindings", "PublishAllPorts", "RestartPolicy", "AutoRemove", "LogConfig", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "IpcMode", "PidMode", "CgroupnsMode", "OomScoreAdj", "ReadonlyRootfs", "ShmSize", "ConsoleSize", "Init", "Memory", "MemorySwap", "MemoryReservation", "MemorySwappiness", "NanoCpus", "CpuShares", "CpusetCpus", "CpusetMems", "PidsLimit", "CapDrop", "ContainerIDFile", ...Object.keys(FORBIDDEN_HOST_CONFIG)];

/**
 * Any policy, bind mounts included: the engine restarts a container without asking the proxy,
 * but it names bind folders through the session's bind view, where a link swapped in since the
 * check does not resolve (sessions/bind-view.ts), so a restart cannot reach the host.
 */
const RESTART_POLICIES = ["", "no", "always", "unless-stopped", "on-failure"];

/** What the proxy sends for `POST /containers/create`, rebuilt from the student's request. */
export interface ContainerCreatePlan {
  name: string | undefined;
  body: Json;
  /** The student's name for the container (for messages and network aliases). */
  studentName: string | undefined;
}

/** `docker run` / `docker create` / compose: every field checked, the request rebuilt. */
export async function planContainerCreate(objects: SessionObjects, body: Json, name: string | null): Promise<ContainerCreatePlan> {
  const { scope } = objects;
  onlyKnown("", body, CONFIG_KEYS);
  const host = obj("HostConfig", body.HostConfig);
  onlyKnown("HostConfig.", host, HOST_CONFIG_KEYS);
  for (const [field, flag] of Object.entries(FORBIDDEN_HOST_CONFIG)) {
    if (!isEmpty(host[field])) refuse(flag);
  }
  if (!isEmpty(body.MacAddress)) refuse("--mac-address");
  if (!isEmpty(body.OnBuild)) refuse("ONBUILD triggers");
  boundContainerCreate(body);

  const counts = await objects.counts();
  if (counts.containers >= LIMITS.containersPerSession) {
    throw new PolicyError(`this sandbox holds at most ${LIMITS.containersPerSession} containers; remove some with docker rm (docker ps -a lists them)`, 409);
  }

  const studentName = name ? checkName("container", name.replace(/^\//, "")) : undefined;
  const image = await objects.resolveImage(str("Image", body.Image)); // [builds hook] own or course images only (own-images.ts)
  const imageVolumes = await objects.imageVolumes(image);

  // Mounts: -v, --mount, --tmpfs, then anonymous volumes for -v /path and the image's VOLUMEs.
  const bound = await binds(objects, strList("Binds", host.Binds) ?? []);
  const mounted = await mounts(objects, Array.isArray(host.Mounts) ? host.Mounts : []);
  const tmpfs: Record<string, string> = {};
  for (const [path, options] of Object.entries(strMap("Tmpfs", host.Tmpfs))) tmpfs[mountTarget("--tmpfs", path)] = tmpfsOptions(path, options);
  const taken = new Set([...bound.targets, ...mounted.targets, ...Object.keys(tmpfs)]);
  const anonymous: string[] = [];
  for (const path of [...Object.keys(obj("Volumes", body.Volumes)), ...imageVolumes]) {
    const target = mountTarget("VOLUME", path);
    if (taken.has(target)) continue;
    taken.add(target);
    const volume = await objects.anonymousVolume();
    anonymous.push(volume);
    bound.binds.push(`${volume}:${target}`);
  }

  const volumesFrom: string[] = [];
  for (const entry of strList("VolumesFrom", host.VolumesFrom) ?? []) {
    const [ref, mode] = entry.split(":") as [string, string?];
    if (mode !== undefined && mode !== "ro" && mode !== "rw") throw new PolicyError(`invalid --volumes-from mode "${mode}"`, 400);
    volumesFrom.push([await ownContainer(objects, ref), mode].filter(Boolean).join(":"));
  }

  // Network: the session's own, never the host's or another session's; no route out.
  const networkModeAsked = optStr("NetworkMode", host.NetworkMode) ?? "";
  let networkMode: string;
  if (["", "default", "bridge"].includes(networkModeAsked)) networkMode = scope.networkName;
  else if (networkModeAsked === "none") networkMode = "none";
  else if (networkModeAsked === "host" || networkModeAsked.startsWith("container:")) networkMode = await namespaceMode(objects, "--network", networkModeAsked, []);
  else networkMode = await as400(objects.networkName(networkModeAsked));
  const aliases = new Set<string>();
  const endpoints = obj("NetworkingConfig.EndpointsConfig", obj("NetworkingConfig", body.NetworkingConfig).EndpointsConfig);
  for (const [net, rawEndpoint] of Object.entries(endpoints)) {
    const endpoint = obj(`EndpointsConfig.${net}`, rawEndpoint);
    const engineNet = ["default", "bridge"].includes(net) ? scope.networkName : await as400(objects.networkName(net));
    if (engineNet !== networkMode) refuse(`connecting to several networks at create time`, "use docker network connect afterwards");
    for (const [key, value] of Object.entries(endpoint)) {
      if (key === "Aliases") for (const alias of strList("Aliases", value) ?? []) aliases.add(checkName("network alias", alias));
      else if (!isEmpty(value)) refuse(`the network setting ${key}`);
    }
  }
  if (studentName && networkMode.startsWith(scope.prefix)) aliases.add(studentName);

  // Resources: clamp what was not asked, refuse what exceeds.
  const memory = clampResource("--memory", num("Memory", host.Memory), LIMITS.memoryBytes, mib);
  const memorySwap = num("MemorySwap", host.MemorySwap);
  if (memorySwap !== 0 && memorySwap !== -1 && memorySwap !== memory) refuse("--memory-swap", "containers here have no swap");
  const nanoCpus = clampResource("--cpus", num("NanoCpus", host.NanoCpus), LIMITS.nanoCpus, cpus);
  const pidsAsked = num("PidsLimit", host.PidsLimit);
  const pids = clampResource("--pids-limit", pidsAsked < 0 ? 0 : pidsAsked, LIMITS.pids, String);
  const shm = clampResource("--shm-size", num("ShmSize", host.ShmSize), LIMITS.shmBytes, mib);
  const reservation = num("MemoryReservation", host.MemoryReservation);
  if (reservation < 0 || reservation > memory) refuse("--memory-reservation above --memory");
  const askedOomScoreAdj = num("OomScoreAdj", host.OomScoreAdj);
  if (askedOomScoreAdj < 0 || askedOomScoreAdj > 1000) refuse(`--oom-score-adj ${askedOomScoreAdj}`, `only 0 to 1000 here (below ${LIMITS.oomScoreAdjFloor} counts as ${LIMITS.oomScoreAdjFloor})`);
  const oomScoreAdj = Math.max(askedOomScoreAdj, LIMITS.oomScoreAdjFloor);

  const restart = obj("RestartPolicy", host.RestartPolicy);
  onlyKnown("RestartPolicy.", restart, ["Name", "MaximumRetryCount"]);
  const restartName = optStr("RestartPolicy.Name", restart.Name) ?? "";
  if (!RESTART_POLICIES.includes(restartName)) refuse(`--restart ${restartName}`);

  const logConfig = obj("LogConfig", host.LogConfig);
  const logType = optStr("LogConfig.Type", logConfig.Type) ?? "";
  if (logType !== "" && logType !== "json-file") refuse(`--log-driver ${logType}`, "logs here use json-file");
  if (!isEmpty(logConfig.Config)) refuse("--log-opt", "log size is set by the sandbox");

  const workingDir = optStr("WorkingDir", body.WorkingDir);
  if (workingDir && /^\/+(proc|sys)(\/|$)/.test(posix.normalize(workingDir))) refuse(`--workdir ${workingDir}`, "/proc and /sys are off limits");

  const portBindings = obj("PortBindings", host.PortBindings);
  const healthcheck = body.Healthcheck === undefined || body.Healthcheck === null ? undefined : obj("Healthcheck", body.Healthcheck);
  if (healthcheck) {
    onlyKnown("Healthcheck.", healthcheck, ["Test", "Interval", "Timeout", "Retries", "StartPeriod"]);
    num("Healthcheck.Interval", healthcheck.Interval);
    boundHealthcheck(healthcheck);
  }

  const autoRemove = bool("AutoRemove", host.AutoRemove);
  const labels: Record<string, string> = { ...studentLabels("Labels", body.Labels), ...scope.ownedLabels() };
  if (anonymous.length) labels[LABEL_ANON_VOLUMES] = anonymous.join(",");
  if (autoRemove) labels[LABEL_AUTOREMOVE] = "1";
  // Published ports are never opened on the host: the workstation forwards localhost:HOST to the
  // container instead (sessions/port-forwards.ts), so `curl localhost:8080` works as at home.
  const published = publishedPorts(portBindings, bool("PublishAllPorts", host.PublishAllPorts), obj("ExposedPorts", body.ExposedPorts));
  boundPublishedPorts(published.length);
  if (published.length) labels[LABEL_PORTS] = JSON.stringify(published);

  const rebuilt: Json = {
    Hostname: optStr("Hostname", body.Hostname) ?? "",
    Domainname: optStr("Domainname", body.Domainname) ?? "",
    User: optStr("User", body.User) ?? "",
    AttachStdin: bool("AttachStdin", body.AttachStdin),
    AttachStdout: bool("AttachStdout", body.AttachStdout),
    AttachStderr: bool("AttachStderr", body.AttachStderr),
    ExposedPorts: obj("ExposedPorts", body.ExposedPorts),
    Tty: bool("Tty", body.Tty),
    OpenStdin: bool("OpenStdin", body.OpenStdin),
    StdinOnce: bool("StdinOnce", body.StdinOnce),
    Env: strList("Env", body.Env) ?? [],
    Cmd: strList("Cmd", body.Cmd) ?? null,
    Entrypoint: strList("Entrypoint", typeof body.Entrypoint === "string" ? [body.Entrypoint] : body.Entrypoint) ?? null,
    Image: image,
    WorkingDir: workingDir ?? "",
    NetworkDisabled: bool("NetworkDisabled", body.NetworkDisabled),
    Labels: labels,
    StopSignal: optStr("StopSignal", body.StopSignal) ?? "",
    ...(body.StopTimeout !== undefined && body.StopTimeout !== null ? { StopTimeout: num("StopTimeout", body.StopTimeout) } : {}),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    ...(body.Shell ? { Shell: strList("Shell", body.Shell) } : {}),
    HostConfig: {
      Binds: bound.binds,
      Mounts: mounted.mounts,
      Tmpfs: tmpfs,
      VolumesFrom: volumesFrom,
      NetworkMode: networkMode,
      RestartPolicy: { Name: restartName, MaximumRetryCount: num("MaximumRetryCount", restart.MaximumRetryCount) },
      AutoRemove: autoRemove,
      LogConfig: { Type: "json-file", Config: { "max-size": LIMITS.logMaxSize, "max-file": LIMITS.logMaxFile } },
      Dns: strList("Dns", host.Dns) ?? [],
      DnsOptions: strList("DnsOptions", host.DnsOptions) ?? [],
      DnsSearch: strList("DnsSearch", host.DnsSearch) ?? [],
      ExtraHosts: strList("ExtraHosts", host.ExtraHosts) ?? [],
      GroupAdd: strList("GroupAdd", host.GroupAdd) ?? [],
      IpcMode: await namespaceMode(objects, "--ipc", optStr("IpcMode", host.IpcMode) ?? "", ["", "private", "shareable", "none"]),
      PidMode: await namespaceMode(objects, "--pid", optStr("PidMode", host.PidMode) ?? "", [""]),
      CgroupnsMode: await namespaceMode(objects, "--cgroupns", optStr("CgroupnsMode", host.CgroupnsMode) ?? "", ["", "private"]),
      OomScoreAdj: oomScoreAdj,
      ReadonlyRootfs: bool("ReadonlyRootfs", host.ReadonlyRootfs),
      ShmSize: shm,
      Init: host.Init === true ? true : null,
      Memory: memory,
      MemorySwap: memory,
      MemoryReservation: reservation,
      NanoCpus: nanoCpus,
      CpuShares: cpuShares(num("CpuShares", host.CpuShares)),
      CpusetCpus: optStr("CpusetCpus", host.CpusetCpus) ?? "",
      CpusetMems: optStr("CpusetMems", host.CpusetMems) ?? "",
      PidsLimit: pids,
      CapDrop: strList("CapDrop", host.CapDrop) ?? [],
      SecurityOpt: ["no-new-privileges"],
      // The session's own group, bounding all its containers together (sessions/session-cgroup.ts).
      ...(scope.cgroupParent ? { CgroupParent: scope.cgroupParent } : {}),
    },
    NetworkingConfig: networkMode.startsWith(scope.prefix) ? { EndpointsConfig: { [networkMode]: { Aliases: [...aliases] } } } : {},
  };
  return { name: studentName ? scope.engineName(studentName) : undefined, body: rebuilt, studentName };
}

/** `-p 8080:80`, `-p 80`, `-P`: TCP only; a missing host port gets a free-looking high one. */
export function publishedPorts(bindings: Json, publishAll: boolean, exposed: Json): PublishedPort[] {
  const out: PublishedPort[] = [];
  const entries: [string, unknown][] = Object.entries(bindings);
  if (publishAll) for (const key of Object.keys(exposed)) if (!(key in bindings)) entries.push([key, [{ HostPort: "" }]]);
  for (const [key, list] of entries) {
    const [portText, protocol = "tcp"] = key.split("/") as [string, string?];
    const containerPort = Number(portText);
    if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535) throw new PolicyError(`invalid port ${key}`, 400);
    if (protocol !== "tcp") refuse(`publishing ${protocol} ports`, "only TCP ports can be published here");
    for (const binding of Array.isArray(list) ? list : []) {
      const b = obj("PortBinding", binding);
      const hostText = optStr("HostPort", b.HostPort) ?? "";
      const hostPort = hostText === "" ? 32768 + Math.floor(Math.random() * 28000) : Number(hostText);
      if (!Number.isInteger(hostPort) || hostPort < 1 || hostPort > 65535) throw new PolicyError(`invalid host port ${hostText}`, 400);
      out.push({ hostPort, containerPort, protocol: "tcp" });
    }
  }
  return out;
}

/** `docker update`: resource changes only, clamped like create. */
export function planContainerUpdate(body: Json): Json {
  // The CLI sends every resource field of `docker update` (MemorySwappiness, CpuRealtime*, ...);
  // the empty ones are ignored, the forbidden ones refused when set.
  onlyKnown("", body, ["Memory", "MemorySwap", "MemoryReservation", "MemorySwappiness", "NanoCpus", "CpuShares", "PidsLimit", "RestartPolicy", "CpusetCpus", "CpusetMems", ...Object.keys(FORBIDDEN_HOST_CONFIG)]);
  for (const [field, flag] of Object.entries(FORBIDDEN_HOST_CONFIG)) if (!isEmpty(body[field])) refuse(`docker update ${flag}`);
  const out: Json = {};
  if (body.Memory !== undefined) {
    out.Memory = clampResource("--memory", num("Memory", body.Memory), LIMITS.memoryBytes, mib);
    out.MemorySwap = out.Memory;
  } else if (!isEmpty(body.MemorySwap)) refuse("--memory-swap", "containers here have no swap");
  if (body.NanoCpus !== undefined) out.NanoCpus = clampResource("--cpus", num("NanoCpus", body.NanoCpus), LIMITS.nanoCpus, cpus);
  if (body.PidsLimit !== undefined && body.PidsLimit !== null) out.PidsLimit = clampResource("--pids-limit", Math.max(0, num("PidsLimit", body.PidsLimit)), LIMITS.pids, String);
  if (body.CpuShares !== undefined) out.CpuShares = cpuShares(num("CpuShares", body.CpuShares));
  if (body.MemoryReservation !== undefined) out.MemoryReservation = Math.min(num("MemoryReservation", body.MemoryReservation), LIMITS.memoryBytes);
  if (typeof body.CpusetCpus === "string" && body.CpusetCpus) out.CpusetCpus = body.CpusetCpus;
  if (body.RestartPolicy !== undefined) {
    const restart = obj("RestartPolicy", body.RestartPolicy);
    onlyKnown("RestartPolicy.", restart, ["Name", "MaximumRetryCount"]);
    const name = optStr("RestartPolicy.Name", restart.Name) ?? "";
    if (!RESTART_POLICIES.includes(name)) refuse(`--restart ${name}`);
    out.RestartPolicy = { Name: name, MaximumRetryCount: num("MaximumRetryCount", restart.MaximumRetryCount) };
  }
  return out;
}

/** `docker exec`: never privileged; the rest is the student's own business inside the container. */
export function planExecCreate(body: Json): Json {
  onlyKnown("", body, ["AttachStdin", "AttachStdout", "AttachStderr", "Detach", "DetachKeys", "Tty", "Env", "Cmd", "Privileged", "User", "WorkingDir", "ConsoleSize"]);
  if (body.Privileged === true) refuse("docker exec --privileged");
  boundExecCreate(body);
  const workingDir = optStr("WorkingDir", body.WorkingDir);
  if (workingDir && /^\/+(proc|sys)(\/|$)/.test(posix.normalize(workingDir))) refuse(`--workdir ${workingDir}`, "/proc and /sys are off limits");
  const cmd = strList("Cmd", body.Cmd);
  if (!cmd || cmd.length === 0) throw new PolicyError("No exec command specified", 400);
  return {
    AttachStdin: bool("AttachStdin", body.AttachStdin),
    AttachStdout: bool("AttachStdout", body.AttachStdout),
    AttachStderr: bool("AttachStderr", body.AttachStderr),
    DetachKeys: optStr("DetachKeys", body.DetachKeys) ?? "",
    Tty: bool("Tty", body.Tty),
    Env: strList("Env", body.Env) ?? [],
    Cmd: cmd,
    Privileged: false,
    User: optStr("User", body.User) ?? "",
    WorkingDir: workingDir ?? "",
    ...(Array.isArray(body.ConsoleSize) ? { ConsoleSize: body.ConsoleSize.map((n, i) => num(`ConsoleSize[${i}]`, n)) } : {}),
  };
}

export function planExecStart(body: Json): Json {
  onlyKnown("", body, ["Detach", "Tty", "ConsoleSize"]);
  return {
    Detach: bool("Detach", body.Detach),
    Tty: bool("Tty", body.Tty),
    ...(Array.isArray(body.ConsoleSize) ? { ConsoleSize: body.ConsoleSize.map((n, i) => num(`ConsoleSize[${i}]`, n)) } : {}),
  };
}

/** `docker volume create`: the local driver and no options at all (they reach mount(2)). */
export async function planVolumeCreate(objects: SessionObjects, body: Json): Promise<{ body: Json; studentName: string }> {
  onlyKnown("", body, ["Name", "Driver", "DriverOpts", "Labels", "ClusterVolumeSpec"]);
  const driver = optStr("Driver", body.Driver) ?? "";
  if (driver !== "" && driver !== "local") refuse(`the volume driver "${driver}"`, "only the local driver is available here");
  if (!isEmpty(body.DriverOpts)) refuse("volume driver options (--opt)", "the local driver passes them to mount(2), which could mount any host path");
  if (!isEmpty(body.ClusterVolumeSpec)) refuse("cluster volumes");
  const counts = await objects.counts();
  if (counts.volumes >= LIMITS.volumesPerSession) throw new PolicyError(`this sandbox holds at most ${LIMITS.volumesPerSession} volumes; remove some with docker volume rm`, 409);
  const asked = optStr("Name", body.Name);
  const studentName = asked ? checkName("volume", asked) : randomBytes(32).toString("hex");
  return {
    studentName,
    body: { Name: objects.scope.engineName(studentName), Driver: "local", DriverOpts: {}, Labels: { ...studentLabels("Labels", body.Labels), ...objects.scope.ownedLabels() } },
  };
}

/** `docker network create` (and compose's default network): bridge, internal, no options. */
export async function planNetworkCreate(objects: SessionObjects, body: Json): Promise<Json> {
  onlyKnown("", body, ["Name", "CheckDuplicate", "Driver", "Internal", "Attachable", "Ingress", "IPAM", "EnableIPv6", "Options", "Labels", "Scope", "ConfigOnly", "ConfigFrom"]);
  const driver = optStr("Driver", body.Driver) ?? "";
  if (driver !== "" && driver !== "bridge") refuse(`the network driver "${driver}"`, "only bridge networks are available here");
  for (const field of ["Ingress", "EnableIPv6", "Options", "ConfigOnly", "ConfigFrom"]) if (!isEmpty(body[field])) refuse(`the network setting ${field}`);
  const ipam = obj("IPAM", body.IPAM);
  if (!isEmpty(ipam.Config) || !isEmpty(ipam.Options) || !["", "default", undefined, null].includes(ipam.Driver as string)) refuse("custom IP address management (--subnet, --ip-range, --gateway)");
  const counts = await objects.counts();
  if (counts.networks >= LIMITS.networksPerSession) throw new PolicyError(`this sandbox holds at most ${LIMITS.networksPerSession} networks; remove some with docker network rm`, 409);
  const name = checkName("network", str("Name", body.Name));
  if (["bridge", "host", "none"].includes(name)) throw new PolicyError(`network with name ${name} already exists`, 409);
  return {
    Name: objects.scope.engineName(name),
    CheckDuplicate: true,
    Driver: "bridge",
    Internal: true, // no route out of the session, whatever was asked
    Options: { "com.docker.network.bridge.name": bridgeName(randomBytes(6).toString("hex")) }, // host firewall matches stw+
    Attachable: bool("Attachable", body.Attachable),
    Labels: { ...studentLabels("Labels", body.Labels), ...objects.scope.ownedLabels() },
  };
}

export async function planNetworkConnect(objects: SessionObjects, body: Json, disconnect: boolean): Promise<Json> {
  onlyKnown("", body, disconnect ? ["Container", "Force"] : ["Container", "EndpointConfig"]);
  const container = await objects.containerId(str("Container", body.Container));
  if (disconnect) return { Container: container, Force: bool("Force", body.Force) };
  const endpoint = obj("EndpointConfig", body.EndpointConfig);
  const aliases: string[] = [];
  for (const [key, value] of Object.entries(endpoint)) {
    if (key === "Aliases") for (const alias of strList("Aliases", value) ?? []) aliases.push(checkName("network alias", alias));
    else if (!isEmpty(value)) refuse(`the network setting ${key}`);
  }
  if (aliases.length > BOUNDS.smallListEntries) refuse(`${aliases.length} network aliases`, `at most ${BOUNDS.smallListEntries} here`);
  return { Container: container, EndpointConfig: { Aliases: aliases } };
}

// ---------------------------------------------------------------------------------------------
// Filters on lists, prune and events
// ---------------------------------------------------------------------------------------------

const FILTER_KEYS: Record<string, string[]> = {
  containers: ["id", "name", "label", "status", "ancestor", "before", "since", "volume", "network", "exited", "health", "expose", "publish", "is-task"],
  volumes: ["name", "label", "dangling", "driver"],
  networks: ["name", "label", "driver", "id", "type", "dangling", "scope"],
  images: ["dangling", "label", "before", "since", "reference"],
  prune: ["label", "label!", "until"],
  // `docker volume prune --all` (API 1.42): named volumes too, not only anonymous ones.
  volumePrune: ["label", "label!", "until", "all"],
  events: ["type", "event", "container", "volume", "network", "image", "label"],
};

/**
 * Parses a student's `filters` (both the map and the legacy `{"key":{"value":true}}` forms),
 * keeps the keys allowed for this list, scopes names, and adds the session's label filter:
 * label filters are ANDed by the engine, so the student can narrow the list but never widen it.
 */
export function scopedFilters(objects: SessionObjects, list: keyof typeof FILTER_KEYS, raw: string | null, addOwner = true): string {
  const parsed: Record<string, string[]> = {};
  if (raw) {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new PolicyError("filters is not valid JSON", 400);
    }
    for (const [key, v] of Object.entries(obj("filters", value))) {
      if (!FILTER_KEYS[list]!.includes(key)) throw new PolicyError(`invalid filter '${key}'`, 400);
      const values = Array.isArray(v) ? v : Object.keys(obj(`filters.${key}`, v));
      parsed[key] = values.map((s) => str(`filters.${key}`, s));
    }
  }
  const prefix = objects.scope.prefix;
  const scopeName = (n: string) => (n.startsWith("^/") ? `^/${prefix}${n.slice(2)}` : n.startsWith("^") ? `^/?${prefix}${n.slice(1)}` : n);
  if (parsed.name) parsed.name = parsed.name.map(list === "containers" ? scopeName : (n) => (n.startsWith("^") ? `^${prefix}${n.slice(1)}` : n));
  if (list === "containers" && parsed.volume) parsed.volume = parsed.volume.map((v) => (v.startsWith("/") ? v : objects.scope.engineName(v)));
  if (list === "containers" && parsed.network) parsed.network = parsed.network.map((n) => (n === "bridge" ? objects.scope.networkName : objects.scope.engineName(n)));
  if (addOwner) parsed.label = [...(parsed.label ?? []), objects.scope.ownerFilter()];
  return JSON.stringify(parsed);
}
