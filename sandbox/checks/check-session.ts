/**
 * The server side of the TypeScript check API (api.ts): a CheckSession over one student session.
 * Every read goes through the session's scoped docker CLI in the session's check container
 * (check-container.ts: the student can neither configure nor touch it), so checks see the
 * student's names and stay inside the sandbox policy.
 * What comes back (names, labels, file contents) is student data: parsed, never evaluated, and
 * quoted whenever it goes back into a shell command.
 */
import Docker from "dockerode";
import { OLDEST_API_VERSION } from "../docker/engine.ts";
import { parseSize } from "../sizes.ts";
import { runCheckScript, type CheckRunner } from "../sessions/check-container.ts";
import type { SessionEvent } from "../sessions/session.ts";
import { LABEL_OWNER, type SessionScope } from "../naming/scope.ts";
import type {
  CheckSession,
  ContainerInfo,
  ExecOutput,
  FileSource,
  HistoryEvent,
  HistoryFilter,
  ImageInfo,
  MountInfo,
  VolumeInfo,
  VolumeUse,
} from "./api.ts";
import {
  ArchiveTooLargeError,
  CHECK_CONTAINER_PREFIX,
  listEngineFiles,
  readEngineFile,
} from "./engine-files.ts";

export { CHECK_CONTAINER_PREFIX };

/** What a check runs against: the session's check container, its scope on the engine and its event history. */
export interface CheckTarget extends CheckRunner {
  /** Needed to read volumes and list files through the engine (a Session has it). */
  scope?: SessionScope;
  history: readonly SessionEvent[];
}

const READ_LIMIT_BYTES = 192 * 1024;
const LIST_LIMITS = { maxFileBytes: 0, maxTotalBytes: 64 * 1024 * 1024, maxEntries: 5000 };
/** Events reach the history a moment after the engine acts: history() waits this long after the last one. */
const EVENT_SETTLE_MS = 150;

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;

export class CheckTimeoutError extends Error {
  constructor() {
    super("the check ran out of time");
    this.name = "CheckTimeoutError";
  }
}

/** Single-quotes a value for bash. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const isName = (name: string) =>
  typeof name === "string" &&
  name.length > 0 &&
  name.length <= 255 &&
  !name.startsWith("-") &&
  !/[\0\n]/.test(name);

function date(value: unknown): Date | undefined {
  if (typeof value !== "string" || value.startsWith("0001-")) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function parseJsonArray(text: string): Record<string, unknown>[] {
  const trimmed = text.trim();
  if (!trimmed.startsWith("[")) return [];
  try {
    const parsed = JSON.parse(trimmed) as unknown;
    return Array.isArray(parsed)
      ? parsed.filter((x): x is Record<string, unknown> => typeof x === "object" && x !== null)
      : [];
  } catch {
    return [];
  }
}

const strMap = (v: unknown): Record<string, string> =>
  v && typeof v === "object"
    ? Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)]),
      )
    : {};
const strList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

export function toContainerInfo(raw: Record<string, unknown>): ContainerInfo {
  /* eslint-disable @typescript-eslint/no-explicit-any -- docker inspect's shape, read defensively */
  const c = raw as any;
  const hostConfig = c.HostConfig ?? {};
  const mounts: MountInfo[] = (Array.isArray(c.Mounts) ? c.Mounts : []).map((m: any): MountInfo => {
    const type = String(m.Type ?? "");
    const mount: MountInfo = {
      type,
      source:
        type === "volume" ? String(m.Name ?? "") : type === "tmpfs" ? "" : String(m.Source ?? ""),
      target: String(m.Destination ?? ""),
      readOnly: m.RW === false,
    };
    if (type === "tmpfs") {
      const spec = (Array.isArray(hostConfig.Mounts) ? hostConfig.Mounts : []).find(
        (x: any) => x?.Target === mount.target,
      );
      const size = Number(spec?.TmpfsOptions?.SizeBytes);
      if (size > 0) mount.sizeBytes = size;
    }
    return mount;
  });
  // `--tmpfs /path:opts` is in HostConfig.Tmpfs, not in Mounts.
  for (const [target, options] of Object.entries(strMap(hostConfig.Tmpfs))) {
    if (mounts.some((m) => m.target === target)) continue;
    const opts = options.split(",");
    const size = parseSize(opts.find((o) => o.startsWith("size="))?.slice(5));
    mounts.push({
      type: "tmpfs",
      source: "",
      target,
      readOnly: opts.includes("ro"),
      ...(size ? { sizeBytes: size } : {}),
    });
  }
  const state = c.State ?? {};
  return {
    id: String(c.Id ?? ""),
    name: String(c.Name ?? "").replace(/^\//, ""),
    image: String(c.Config?.Image ?? ""),
    state: String(state.Status ?? ""),
    running: state.Running === true,
    exitCode: Number(state.ExitCode ?? 0),
    createdAt: date(c.Created) ?? new Date(0),
    startedAt: date(state.StartedAt),
    finishedAt: state.Running ? undefined : date(state.FinishedAt),
    labels: strMap(c.Config?.Labels),
    env: strList(c.Config?.Env),
    command: [...strList(c.Config?.Entrypoint), ...strList(c.Config?.Cmd)],
    mounts,
    readOnlyRootfs: hostConfig.ReadonlyRootfs === true,
    restartPolicy: String(hostConfig.RestartPolicy?.Name || "no"),
    raw,
  };
  /* eslint-enable @typescript-eslint/no-explicit-any */
}

export function toVolumeInfo(raw: Record<string, unknown>): VolumeInfo {
  const name = String(raw.Name ?? "");
  return {
    name,
    driver: String(raw.Driver ?? ""),
    labels: strMap(raw.Labels),
    options: strMap(raw.Options),
    createdAt: date(raw.CreatedAt) ?? new Date(0),
    anonymous: /^[0-9a-f]{64}$/.test(name),
  };
}

/** `built`: whether the session built it, which the student's view of the image cannot say (its stowage.* labels are hidden). */
export function toImageInfo(raw: Record<string, unknown>, built: boolean): ImageInfo {
  const config = (raw.Config ?? {}) as Record<string, unknown>;
  return {
    id: String(raw.Id ?? ""),
    tags: strList(raw.RepoTags),
    built,
    user: String(config.User ?? ""),
    volumes: Object.keys(strMap(config.Volumes)).sort(),
    workingDir: String(config.WorkingDir ?? ""),
    env: strList(config.Env),
    command: [...strList(config.Entrypoint), ...strList(config.Cmd)],
    labels: strMap(config.Labels),
    createdAt: date(raw.Created) ?? new Date(0),
    raw,
  };
}

/** The history as checks see it: container names resolved, the checks' own containers left out. */
export function checkHistory(events: readonly SessionEvent[]): HistoryEvent[] {
  const names = new Map<string, string>();
  for (const e of events) if (e.type === "container" && e.name) names.set(e.id, e.name);
  const out: HistoryEvent[] = [];
  for (const e of events) {
    const containerId = e.type === "container" ? e.id : e.attributes.container;
    const container = containerId ? names.get(containerId) : undefined;
    if (container?.startsWith(CHECK_CONTAINER_PREFIX)) continue;
    out.push({
      type: e.type,
      action: e.action,
      id: e.id,
      name: e.name,
      container: e.type === "container" ? e.name : container,
      attributes: { ...e.attributes },
      time: e.time,
    });
  }
  return out;
}

export function filterHistory(events: HistoryEvent[], filter: HistoryFilter = {}): HistoryEvent[] {
  const actions = filter.action === undefined ? undefined : ([] as string[]).concat(filter.action);
  return events.filter(
    (e) =>
      (filter.type === undefined || e.type === filter.type) &&
      (actions === undefined || actions.includes(e.action)) &&
      (filter.name === undefined || e.name === filter.name) &&
      (filter.container === undefined || e.container === filter.container) &&
      (filter.since === undefined || e.time >= filter.since),
  );
}

export function volumeUses(events: HistoryEvent[], volume: string): VolumeUse[] {
  const uses = new Map<string, VolumeUse>();
  for (const e of events) {
    if (
      e.type === "volume" &&
      e.action === "mount" &&
      e.name === volume &&
      e.attributes.container &&
      !uses.has(e.attributes.container)
    ) {
      uses.set(e.attributes.container, {
        container: e.container,
        containerId: e.attributes.container,
        destination: e.attributes.destination ?? "",
        readOnly: e.attributes["read/write"] === "false",
        time: e.time,
        removedAt: undefined,
      });
    }
    if (e.type === "container" && e.action === "destroy") {
      const use = uses.get(e.id);
      if (use) use.removedAt = e.time;
    }
  }
  return [...uses.values()];
}

/** A CheckSession over `target`, every call bounded by `deadline` (ms since the epoch). */
export function createCheckSession(
  docker: Docker,
  target: CheckTarget,
  deadline: number,
): CheckSession {
  const timeLeft = () => deadline - Date.now();
  const began = Date.now();
  const run = async (script: string): Promise<ExecOutput & { output: string }> => {
    const left = timeLeft();
    if (left <= 0) throw new CheckTimeoutError();
    const result = await runCheckScript(docker, target, script, { timeoutMs: left });
    if (result.timedOut) throw new CheckTimeoutError();
    return result;
  };
  const engineScope = (call: string): SessionScope => {
    if (!target.scope)
      throw new Error(`${call} needs the session's scope (run the check against a Session)`);
    return target.scope;
  };
  /** An engine call bounded by the check's time limit. */
  const bounded = async <T>(work: Promise<T>): Promise<T> => {
    const left = timeLeft();
    if (left <= 0) throw new CheckTimeoutError();
    work.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CheckTimeoutError()), left);
    });
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
    }
  };
  /**
   * The session's own proxy (the socket its docker CLI talks to), asked from here: the same
   * policy and the same student names as the CLI in the check container, without its cost. An
   * inspect through the CLI was an exec in the check container (runc, a shim, bash) and a docker
   * CLI process: some 60 ms of CPU each, which a class checking at once queued on two cores
   * (docs/benchmarks.md, the class section). Without a scope, the CLI as before.
   */
  const proxy = target.scope
    ? new Docker({
        socketPath: target.scope.proxySocketPath,
        version: `v${OLDEST_API_VERSION}`,
      })
    : undefined;
  /** One object from the proxy, or undefined when the student has none by that name. */
  const inspected = async (
    request: Promise<unknown>,
  ): Promise<Record<string, unknown> | undefined> => {
    try {
      const found = await bounded(request);
      return found && typeof found === "object" ? (found as Record<string, unknown>) : undefined;
    } catch (error) {
      // 404: none; 400/403: a name the proxy does not let the student use is none of theirs.
      if ([400, 403, 404].includes(statusOf(error) ?? 0)) return undefined;
      throw error;
    }
  };
  const requireName = (kind: string, name: string) => {
    if (!isName(name))
      throw new Error(
        `not ${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind} name: ${JSON.stringify(name)}`,
      );
  };

  const readBytes = async (source: FileSource): Promise<Buffer | undefined> => {
    const path = source.path;
    if (typeof path !== "string" || !path || /[\0\n]/.test(path))
      throw new Error(`readFile: not a path: ${JSON.stringify(path)}`);
    let script: string;
    if ("volume" in source) {
      requireName("volume", source.volume);
      const limits = {
        maxFileBytes: READ_LIMIT_BYTES,
        maxTotalBytes: READ_LIMIT_BYTES,
        maxEntries: 1,
      };
      return bounded(
        readEngineFile(docker, engineScope("readFile"), source, limits).catch((error: unknown) => {
          throw error instanceof ArchiveTooLargeError
            ? new Error(
                `readFile: ${path} is larger than ${READ_LIMIT_BYTES / 1024} KB; use s.listFiles() (sizes, hashes) or s.exec() with grep, head or wc instead`,
              )
            : error;
        }),
      );
    } else {
      requireName("container", source.container);
      const c = shellQuote(source.container);
      const p = shellQuote(path.startsWith("/") ? path : `/${path}`);
      script = `running=$(docker inspect --type container --format '{{.State.Running}}' ${c} 2>/dev/null) || exit 3
set -o pipefail
if [ "$running" = true ]; then docker exec ${c} cat ${p}; else docker cp ${shellQuote(source.container + ":")}${p} - | tar -xOf -; fi | head -c ${READ_LIMIT_BYTES + 1} | base64 -w0`;
    }
    const result = await run(script);
    const bytes = Buffer.from(result.stdout.trim(), "base64");
    if (bytes.length > READ_LIMIT_BYTES)
      throw new Error(
        `readFile: ${path} is larger than ${READ_LIMIT_BYTES / 1024} KB; use s.exec() with grep, head or wc instead`,
      );
    if (result.exitCode === 0) return bytes;
    if (
      result.exitCode === 3 ||
      /no such file|no such container:path|could not find the file|not a directory|is a directory|can't open/i.test(
        result.stderr,
      )
    )
      return undefined;
    throw new Error(
      `readFile could not read ${path}: ${result.stderr.trim().split("\n").slice(-2).join(" ")}`,
    );
  };

  let settled = false;
  const settle = async () => {
    if (settled) return;
    settled = true;
    for (;;) {
      const last = target.history.at(-1)?.time ?? 0;
      // The engine sends its events in order: one stamped after the check began (a read of
      // this check's own, say) means every earlier one is here. Waiting out the quiet 150 ms
      // instead was most of a Check's time (a class of 30: p50 184 ms, 150 of it this wait).
      if (last >= began) return;
      const wait = Math.min(last + EVENT_SETTLE_MS - Date.now(), timeLeft() - 50);
      if (wait <= 0) return;
      await new Promise((r) => setTimeout(r, Math.min(wait, EVENT_SETTLE_MS)));
    }
  };

  return {
    async volumes() {
      if (proxy) {
        const list = (await bounded(proxy.listVolumes())) as { Volumes?: unknown[] | null };
        return (list.Volumes ?? [])
          .filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null)
          .map(toVolumeInfo);
      }
      const result = await run("docker volume ls -q | xargs -r docker volume inspect");
      return parseJsonArray(result.stdout).map(toVolumeInfo);
    },
    async volume(name) {
      requireName("volume", name);
      if (proxy) {
        const found = await inspected(proxy.getVolume(name).inspect());
        return found ? toVolumeInfo(found) : undefined;
      }
      const result = await run(`docker volume inspect ${shellQuote(name)}`);
      const found = parseJsonArray(result.stdout)[0];
      return found ? toVolumeInfo(found) : undefined;
    },
    async containers(options = {}) {
      let found: Record<string, unknown>[];
      if (proxy) {
        const list = await bounded(proxy.listContainers({ all: options.all === true }));
        // A few at a time: the proxy handles 4 of a session's requests at once, and each
        // waiting one would hold a connection of the session's 64.
        found = [];
        for (let i = 0; i < list.length; i += 4)
          for (const c of await Promise.all(
            list.slice(i, i + 4).map((c) => inspected(proxy.getContainer(c.Id).inspect())),
          ))
            if (c) found.push(c);
      } else {
        const result = await run(
          `docker ps -q --no-trunc ${options.all ? "-a" : ""} | xargs -r docker inspect --type container`,
        );
        found = parseJsonArray(result.stdout);
      }
      return found.map(toContainerInfo).filter((c) => !c.name.startsWith(CHECK_CONTAINER_PREFIX));
    },
    async container(name) {
      requireName("container", name);
      if (proxy) {
        const found = await inspected(proxy.getContainer(name).inspect());
        return found ? toContainerInfo(found) : undefined;
      }
      const result = await run(`docker inspect --type container ${shellQuote(name)}`);
      const found = parseJsonArray(result.stdout)[0];
      return found ? toContainerInfo(found) : undefined;
    },
    async image(ref) {
      requireName("image", ref);
      let found: Record<string, unknown> | undefined;
      if (proxy) found = await inspected(proxy.getImage(ref).inspect());
      else {
        const result = await run(`docker image inspect ${shellQuote(ref)}`);
        found = parseJsonArray(result.stdout)[0];
      }
      if (!found) return undefined;
      // The id is one the session may see (its view answered with it); the owner label is read at
      // the engine, because the session's view hides the sandbox's labels.
      const scope = engineScope("image");
      const labels = await bounded(
        docker
          .getImage(String(found.Id))
          .inspect()
          .then((i) => i.Config?.Labels ?? {}),
      );
      return toImageInfo(found, labels[LABEL_OWNER] === scope.sessionId);
    },
    readBytes,
    async readFile(source) {
      return (await readBytes(source))?.toString("utf8");
    },
    async listFiles(source) {
      const path = source.path;
      if (typeof path !== "string" || !path || /[\0\n]/.test(path))
        throw new Error(`listFiles: not a path: ${JSON.stringify(path)}`);
      requireName(
        "volume" in source ? "volume" : "container",
        "volume" in source ? source.volume : source.container,
      );
      return bounded(listEngineFiles(docker, engineScope("listFiles"), source, LIST_LIMITS));
    },
    async exec(container, cmd) {
      requireName("container", container);
      if (!Array.isArray(cmd) || cmd.length === 0)
        throw new Error("exec: give the command as a non-empty array of strings");
      const { exitCode, stdout, stderr } = await run(
        `docker exec ${shellQuote(container)} ${cmd.map((a) => shellQuote(String(a))).join(" ")}`,
      );
      return { exitCode, stdout, stderr };
    },
    async sh(script) {
      const { exitCode, stdout, stderr } = await run(script);
      return { exitCode, stdout, stderr };
    },
    async history(filter) {
      await settle();
      return filterHistory(checkHistory(target.history), filter);
    },
    async volumeUses(volume) {
      await settle();
      return volumeUses(checkHistory(target.history), volume);
    },
    timeLeft,
  };
}
