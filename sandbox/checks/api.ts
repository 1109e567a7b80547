/**
 * The public API of TypeScript checks (docs/authoring-checks.md). A lesson's
 * `exercises/<exercise>/checks/<task>.ts` imports from this file only:
 *
 *   import { defineCheck, pass, fail } from "../../../../sandbox/checks/api.ts";
 *   export default defineCheck(async (s) => {
 *     const v = await s.volume("app-data");
 *     if (!v) return fail("There is no volume named app-data yet.");
 *     return pass();
 *   });
 *
 * Everything a check sees is in the student's names. Calls that use docker go through the
 * session's scoped docker CLI in the session's check container (check-container.ts), so a check
 * can see and do exactly what the student can, and the student cannot configure what it sees;
 * reading volumes (readFile, listFiles) goes to the engine directly, limited to the session's
 * own objects, and never starts a container (docs/decisions/check-volume-reads.md).
 * Keep this module free of runtime dependencies: lessons import it, the server implements it.
 */

/** What a check decides. `message` is shown to the student (one specific sentence). */
export interface CheckResult {
  readonly passed: boolean;
  readonly message: string;
}

/**
 * A failed check. Both `return fail("...")` and `throw fail("...")` work (handy deep inside a
 * helper): it is an Error so it can be thrown, and a CheckResult so it can be returned.
 */
export class CheckFailure extends Error implements CheckResult {
  readonly passed = false as const;
  constructor(message: string) {
    super(message);
    this.name = "CheckFailure";
  }
}

/** The task is done. The optional message is shown under a passed task. */
export function pass(message = ""): CheckResult {
  return { passed: true, message };
}

/** The task is not done yet: say what is missing, in one sentence the student can act on. */
export function fail(message: string): CheckFailure {
  return new CheckFailure(message);
}

/** A mount as `docker inspect` shows it, simplified. `source` is the volume name for volumes, the path (as the student sees it) for binds, "" for tmpfs. */
export interface MountInfo {
  type: "volume" | "bind" | "tmpfs" | (string & {});
  source: string;
  target: string;
  readOnly: boolean;
  /** tmpfs only: the size limit in bytes, when one was given. */
  sizeBytes?: number;
}

export interface ContainerInfo {
  id: string;
  /** The student's name for it, without the leading slash. */
  name: string;
  /** The image as the student typed it, e.g. "busybox" or "postgres:15". */
  image: string;
  /** "created", "running", "paused", "restarting", "exited", "dead". */
  state: string;
  running: boolean;
  exitCode: number;
  createdAt: Date;
  /** Undefined when it never started. */
  startedAt: Date | undefined;
  /** Undefined while running or when it never stopped. */
  finishedAt: Date | undefined;
  labels: Record<string, string>;
  env: string[];
  command: string[];
  mounts: MountInfo[];
  readOnlyRootfs: boolean;
  /** "no", "always", "unless-stopped", "on-failure". */
  restartPolicy: string;
  /** The full `docker inspect` object, for anything not listed above. */
  raw: Record<string, unknown>;
}

/** An image as `docker image inspect` shows it to the student, simplified. */
export interface ImageInfo {
  /** "sha256:..."; a container made from it has the same id in `raw.Image`. */
  id: string;
  /** The student's names for it, e.g. ["stash:latest"]. */
  tags: string[];
  /**
   * True when this session built it with `docker build` (also once tagged again); false for a
   * course image, also one given another name with `docker tag busybox myapp`.
   */
  built: boolean;
  /** The image's USER: "" means root. A name ("app") or numbers ("10001", "10001:10001"). */
  user: string;
  /** The folders its VOLUME lines declare, sorted: ["/data"]. */
  volumes: string[];
  workingDir: string;
  env: string[];
  /** ENTRYPOINT then CMD. */
  command: string[];
  labels: Record<string, string>;
  createdAt: Date;
  /** The full `docker image inspect` object, for anything not listed above. */
  raw: Record<string, unknown>;
}

export interface VolumeInfo {
  name: string;
  driver: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  createdAt: Date;
  /** True for a volume Docker named itself (64 hex digits): `-v /data` or a VOLUME in the image. */
  anonymous: boolean;
}

/** One Docker event of the session, in the student's names, oldest first. */
export interface HistoryEvent {
  /** "container", "volume", "network", "image". */
  type: string;
  /** "create", "start", "die", "destroy", "mount", "unmount", "exec_start: sh", ... */
  action: string;
  /** Container id, volume name, network id. */
  id: string;
  /** The student's name of the object (container name, volume name, network name). */
  name: string | undefined;
  /** For volume and network events about a container: that container's name, when the session saw it. */
  container: string | undefined;
  /** The engine's attributes: e.g. a volume mount has destination and "read/write" ("true"/"false"). */
  attributes: Record<string, string>;
  /** Milliseconds since the epoch. */
  time: number;
}

export interface HistoryFilter {
  type?: string;
  action?: string | string[];
  name?: string;
  container?: string;
  /** Only events at or after this time (ms since the epoch). */
  since?: number;
}

/** A mount of a volume by a container, from the history: who used the volume, when, how. */
export interface VolumeUse {
  container: string | undefined;
  containerId: string;
  destination: string;
  readOnly: boolean;
  time: number;
  /** When that container was removed, if it was. */
  removedAt: number | undefined;
}

export interface ExecOutput {
  /** null when the command did not finish in time. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export type FileSource = { volume: string; path: string } | { container: string; path: string };

/** One entry of a folder, as listFiles() sees it (from the engine's archive: nothing is started). */
export interface FileEntry {
  /** Relative to the folder listed; the folder itself is ".". */
  path: string;
  /** "file", "directory", "symlink", or another tar type ("link", "fifo", ...). */
  type: string;
  size: number;
  /** Permission bits, e.g. 0o644 (setuid, setgid and sticky included). */
  mode: number;
  /** Numeric owner, as stored: a name never stands in for it. */
  uid: number;
  gid: number;
  /** Regular files only: the SHA-256 of the content, in hex. */
  sha256?: string;
  /** Symbolic and hard links: where they point. */
  linkTarget?: string;
}

/**
 * The first way `actual` differs from `expected` (two listFiles() answers: a copy or a restore
 * against its source), in words a student can act on, or undefined when the trees are the same:
 * names, types, numeric owners, modes and content. The folders themselves (".") are not compared.
 */
export function treeDifference(expected: FileEntry[], actual: FileEntry[]): string | undefined {
  const line = (f: FileEntry) =>
    `${f.path} ${f.type} ${f.uid}:${f.gid} ${f.mode.toString(8)} ${f.sha256 ?? "-"}`;
  const a = expected.filter((f) => f.path !== ".").map(line);
  const b = actual.filter((f) => f.path !== ".").map(line);
  const differs = a.find((x, i) => x !== b[i]) ?? b.find((x, i) => x !== a[i]);
  if (differs === undefined) return undefined;
  const path = differs.split(" ")[0]!;
  const mine = actual.find((f) => f.path === path);
  const theirs = expected.find((f) => f.path === path);
  if (!mine) return `${path} is missing`;
  if (!theirs) return `${path} is extra`;
  if (mine.type !== theirs.type) return `${path} is a ${mine.type}, not a ${theirs.type}`;
  if (mine.uid !== theirs.uid || mine.gid !== theirs.gid)
    return `${path} belongs to ${mine.uid}:${mine.gid}, not ${theirs.uid}:${theirs.gid}`;
  if (mine.mode !== theirs.mode)
    return `${path} has mode ${mine.mode.toString(8)}, not ${theirs.mode.toString(8)}`;
  return `${path} has different content`;
}

/** The student's session, as a check sees it. Every call is bounded by the check's time limit. */
export interface CheckSession {
  /** Every volume of the session. */
  volumes(): Promise<VolumeInfo[]>;
  /** One volume by name; undefined when there is none. */
  volume(name: string): Promise<VolumeInfo | undefined>;
  /** Running containers, or all of them with `{ all: true }`. */
  containers(options?: { all?: boolean }): Promise<ContainerInfo[]>;
  /** One container by name (running or not); undefined when there is none. */
  container(name: string): Promise<ContainerInfo | undefined>;
  /**
   * One image by the student's name or id (their own or a course image); undefined when there is
   * none. Whether the session built it is the sandbox's own record, not something a tag can fake.
   */
  image(ref: string): Promise<ImageInfo | undefined>;
  /**
   * A small text file (up to 192 KB) from a volume or from a container. A volume is read through
   * the engine's archive endpoint (what `docker cp` uses), from a container that mounts it or from
   * a reader container that is created, never started, and removed: no check waits for a start.
   * Undefined when the volume, container or file does not exist.
   */
  readFile(source: FileSource): Promise<string | undefined>;
  /** Same as readFile, as bytes (for binary files). */
  readBytes(source: FileSource): Promise<Buffer | undefined>;
  /**
   * Every file and folder under `path` in a volume or container (the folder itself is "."),
   * sorted by path, with numeric owners, modes and content hashes; read like readFile (nothing
   * started), at most 5000 entries and 64 MB. Undefined when the volume, container or folder does
   * not exist. Compare two volumes' trees, find a file not owned by uid 999, count uploads...
   */
  listFiles(source: FileSource): Promise<FileEntry[] | undefined>;
  /** `docker exec <container> <cmd...>` as the student. exitCode 125..127: docker could not run it. */
  exec(container: string, cmd: string[]): Promise<ExecOutput>;
  /** A bash script as the student's uid in the check container, in /home/student (read-only), with the session's docker CLI. */
  sh(script: string): Promise<ExecOutput>;
  /**
   * The session's Docker events, oldest first (the checks' own throwaway containers left out).
   * Waits a moment first when the last event is very recent, so the student's last command is in.
   */
  history(filter?: HistoryFilter): Promise<HistoryEvent[]>;
  /** Every mount of `volume` by a container, from the history, oldest first, one per container. */
  volumeUses(volume: string): Promise<VolumeUse[]>;
  /** Milliseconds left before the check's time limit. */
  timeLeft(): number;
}

export type CheckFunction = (session: CheckSession) => Promise<CheckResult> | CheckResult;

export interface CheckOptions {
  /** Time limit in seconds (default 10, at most 60). */
  timeout?: number;
}

export const CHECK_BRAND: unique symbol = Symbol.for("stowage.check");

export interface CheckDefinition {
  readonly [CHECK_BRAND]: true;
  readonly run: CheckFunction;
  readonly timeoutMs: number;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;
export const MAX_CHECK_TIMEOUT_MS = 60_000;

/** Wraps a check for `export default`. */
export function defineCheck(run: CheckFunction, options: CheckOptions = {}): CheckDefinition {
  const seconds = options.timeout ?? DEFAULT_CHECK_TIMEOUT_MS / 1000;
  if (!(seconds > 0)) throw new Error("defineCheck: timeout must be a positive number of seconds");
  return { [CHECK_BRAND]: true, run, timeoutMs: Math.min(seconds * 1000, MAX_CHECK_TIMEOUT_MS) };
}

export function isCheckDefinition(value: unknown): value is CheckDefinition {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[CHECK_BRAND] === true &&
    typeof (value as CheckDefinition).run === "function"
  );
}
