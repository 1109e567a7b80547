/**
 * Sizes and counts a student's request may carry, set to what a lesson needs with room to spare.
 * Everything a student stores in an object's configuration (labels, environment, command) is
 * copied by the engine into every list and inspect answer, held in dockerd's memory, and parsed
 * by this server at each lookup: a 900 KB label on 20 containers made each `docker ps` 18 MB, and
 * pipelined lists of them took dockerd to 19.7 GB (issue 16). Reasons per bound: docs/hardening.md.
 */
import { PolicyError } from "./refusal.ts";

export const BOUNDS = {
  /** A JSON request body (container create with compose's labels is ~4 KB). */
  jsonBodyBytes: 64 * 1024,
  labelCount: 64,
  labelKeyBytes: 256,
  labelValueBytes: 1024,
  labelTotalBytes: 8 * 1024,
  envCount: 128,
  envEntryBytes: 4 * 1024,
  envTotalBytes: 32 * 1024,
  /** Cmd + Entrypoint + Shell + Healthcheck.Test together. */
  commandTotalBytes: 16 * 1024,
  /** Binds, Mounts, Tmpfs, Volumes and the image's VOLUMEs of one container together. */
  mountsPerContainer: 16,
  /** `-p` mappings of one container (a range `-p 8000-8999:80` is one per port). */
  publishedPortsPerContainer: 16,
  /** Forwards open at once for the whole session (each is a listener in its workstation). */
  publishedPortsPerSession: 32,
  exposedPortsPerContainer: 64,
  /** Aliases, extra hosts, DNS entries, groups, volumes-from, cap-drops: each list. */
  smallListEntries: 16,
  /** The engine runs a health check as an exec: at most one every 2 s per container. */
  healthIntervalMinNs: 2e9,
  healthRetriesMax: 100,
  /** exec create + start: a runc process on the host each, outside every cgroup. */
  execsPerSecond: 5,
  execBurst: 20,
  /** `docker system df`: the engine sizes every container and volume of the class for each. */
  diskUsagePerSecond: 1 / 3,
  diskUsageBurst: 2,
  /** exec instances the proxy remembers (the CLI needs the newest only). */
  execsRemembered: 256,
  /** Streaming answers of one session open at once (`docker stats` of 20 containers holds 21). */
  streamsPerSession: 32,
  /** Requests of one session handled at once across its connections. */
  requestsInFlight: 4,
  /** Requests pipelined on one connection waiting their turn before the next is refused. */
  pipelinedPerConnection: 8,
} as const;

type Json = Record<string, unknown>;

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

function tooBig(
  what: string,
  limit: string,
  why = "the sandbox keeps object settings small",
): never {
  throw new PolicyError(`this sandbox does not allow ${what}: at most ${limit} here (${why})`, 400);
}

/** Labels of a container, volume or network (already checked to be a string map). */
export function boundLabels(field: string, labels: Record<string, string>): void {
  const entries = Object.entries(labels);
  if (entries.length > BOUNDS.labelCount)
    tooBig(`${entries.length} labels in ${field}`, `${BOUNDS.labelCount} labels`);
  let total = 0;
  for (const [key, value] of entries) {
    if (bytes(key) > BOUNDS.labelKeyBytes)
      tooBig(`a label key of ${bytes(key)} bytes`, `${BOUNDS.labelKeyBytes} bytes per key`);
    if (bytes(value) > BOUNDS.labelValueBytes)
      tooBig(
        `the label ${key.slice(0, 64)} of ${bytes(value)} bytes`,
        `${BOUNDS.labelValueBytes} bytes per value`,
      );
    total += bytes(key) + bytes(value);
  }
  if (total > BOUNDS.labelTotalBytes)
    tooBig(`${total} bytes of labels`, `${BOUNDS.labelTotalBytes} bytes of labels per object`);
}

/** `-e` entries of a container or an exec. */
export function boundEnv(env: unknown): void {
  if (!Array.isArray(env)) return;
  if (env.length > BOUNDS.envCount)
    tooBig(`${env.length} environment variables`, `${BOUNDS.envCount}`);
  let total = 0;
  for (const entry of env) {
    if (typeof entry !== "string") continue; // the policy's type check names the field
    if (bytes(entry) > BOUNDS.envEntryBytes)
      tooBig(
        `the environment variable ${entry.split("=")[0]!.slice(0, 64)} of ${bytes(entry)} bytes`,
        `${BOUNDS.envEntryBytes} bytes each`,
      );
    total += bytes(entry);
  }
  if (total > BOUNDS.envTotalBytes)
    tooBig(`${total} bytes of environment`, `${BOUNDS.envTotalBytes} bytes`);
}

/** Bytes of a string or a list of strings; anything else is the policy's type error, not counted (nor recursed into). */
function stringBytes(v: unknown): number {
  if (typeof v === "string") return bytes(v);
  if (Array.isArray(v))
    return v.reduce((n: number, s) => n + (typeof s === "string" ? bytes(s) : 0), 0);
  return 0;
}

function countOf(v: unknown): number {
  if (Array.isArray(v)) return v.length;
  if (v && typeof v === "object") return Object.keys(v).length;
  return 0;
}

/** Sizes and counts of `POST /containers/create`, checked before anything is looked up or made. */
export function boundContainerCreate(body: Json): void {
  const host = (
    body.HostConfig && typeof body.HostConfig === "object" ? body.HostConfig : {}
  ) as Json;
  boundEnv(body.Env);
  const health = (
    body.Healthcheck && typeof body.Healthcheck === "object" ? body.Healthcheck : {}
  ) as Json;
  const command =
    stringBytes(body.Cmd) +
    stringBytes(body.Entrypoint) +
    stringBytes(body.Shell) +
    stringBytes(health.Test);
  if (command > BOUNDS.commandTotalBytes)
    tooBig(`a command of ${command} bytes`, `${BOUNDS.commandTotalBytes} bytes`);
  const mounts =
    countOf(host.Binds) + countOf(host.Mounts) + countOf(host.Tmpfs) + countOf(body.Volumes);
  if (mounts > BOUNDS.mountsPerContainer)
    tooBig(
      `${mounts} mounts and volumes on one container`,
      `${BOUNDS.mountsPerContainer}`,
      "each volume is a folder on the shared disk",
    );
  if (countOf(body.ExposedPorts) > BOUNDS.exposedPortsPerContainer)
    tooBig(`${countOf(body.ExposedPorts)} exposed ports`, `${BOUNDS.exposedPortsPerContainer}`);
  for (const [field, flag] of [
    ["Dns", "--dns"],
    ["DnsOptions", "--dns-option"],
    ["DnsSearch", "--dns-search"],
    ["ExtraHosts", "--add-host"],
    ["GroupAdd", "--group-add"],
    ["VolumesFrom", "--volumes-from"],
    ["CapDrop", "--cap-drop"],
  ] as const) {
    if (countOf(host[field]) > BOUNDS.smallListEntries)
      tooBig(`${countOf(host[field])} ${flag} entries`, `${BOUNDS.smallListEntries}`);
  }
  const endpoints = ((body.NetworkingConfig as Json | undefined)?.EndpointsConfig ?? {}) as Record<
    string,
    Json | null
  >;
  for (const endpoint of Object.values(endpoints)) {
    if (countOf(endpoint?.Aliases) > BOUNDS.smallListEntries)
      tooBig(`${countOf(endpoint?.Aliases)} network aliases`, `${BOUNDS.smallListEntries}`);
  }
}

/** The engine's health checks run as execs in the container: bounded in rate. */
export function boundHealthcheck(health: Json): void {
  const interval = typeof health.Interval === "number" ? health.Interval : 0;
  if (interval !== 0 && interval < BOUNDS.healthIntervalMinNs)
    tooBig(
      `--health-interval ${interval / 1e9}s`,
      `one check every ${BOUNDS.healthIntervalMinNs / 1e9}s`,
      "each check starts a process through the shared engine",
    );
  const retries = typeof health.Retries === "number" ? health.Retries : 0;
  if (retries > BOUNDS.healthRetriesMax)
    tooBig(`--health-retries ${retries}`, `${BOUNDS.healthRetriesMax}`);
}

/** `-p` mappings of one container. */
export function boundPublishedPorts(count: number): void {
  if (count > BOUNDS.publishedPortsPerContainer)
    tooBig(
      `${count} published ports on one container`,
      `${BOUNDS.publishedPortsPerContainer}`,
      "each is a forward in your workstation",
    );
}

/** `docker exec`: the same bounds on environment and command as a container. */
export function boundExecCreate(body: Json): void {
  boundEnv(body.Env);
  const command = stringBytes(body.Cmd);
  if (command > BOUNDS.commandTotalBytes)
    tooBig(`a command of ${command} bytes`, `${BOUNDS.commandTotalBytes} bytes`);
}
