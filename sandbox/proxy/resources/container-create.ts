/**
 * The rules of `docker run` / `docker create` / compose (POST /containers/create) and of
 * `docker update`: every field checked, the request to the engine rebuilt from what passed.
 */
import { posix } from "node:path";
import {
  LABEL_ANON_VOLUMES,
  LABEL_AUTOREMOVE,
  LABEL_HOME_BINDS,
  LABEL_PORTS,
} from "../../naming/scope.ts";
import { homeBindsLabel } from "../home-volume.ts";
import type { PublishedPort } from "../../naming/published-ports.ts";
import { boundContainerCreate, boundHealthcheck, boundPublishedPorts } from "../bounds.ts";
import {
  bool,
  checkName,
  isEmpty,
  num,
  obj,
  onlyKnown,
  optStr,
  str,
  strList,
  strMap,
  studentLabels,
  type Json,
} from "../fields.ts";
import { LIMITS } from "../limits.ts";
import { binds, mountTarget, mounts, tmpfsOptions } from "../mounts.ts";
import { PolicyError, refuse } from "../refusal.ts";
import type { SessionObjects } from "../session-objects.ts";

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
    if (error instanceof PolicyError && error.status === 404)
      throw new PolicyError(error.message, 400);
    throw error;
  }
}

/** `--pid/--ipc/--network container:NAME`: only the session's own containers. */
async function namespaceMode(
  objects: SessionObjects,
  flag: string,
  value: string,
  allowed: string[],
): Promise<string> {
  if (allowed.includes(value)) return value;
  if (value.startsWith("container:"))
    return `container:${await ownContainer(objects, value.slice("container:".length))}`;
  if (value === "host") return refuse(`${flag} host`, "the host's namespaces are not yours");
  return refuse(`${flag} ${value}`);
}

function clampResource(
  flag: string,
  asked: number,
  max: number,
  unit: (n: number) => string,
): number {
  if (asked < 0 || asked > max)
    refuse(`${flag} ${unit(asked)}`, `at most ${unit(max)} per container here`);
  return asked === 0 ? max : asked;
}
/** --cpu-shares is a weight against every other container on the engine: at most the default. */
function cpuShares(asked: number): number {
  if (asked < 0 || asked > LIMITS.cpuShares)
    refuse(`--cpu-shares ${asked}`, `at most ${LIMITS.cpuShares} (the default weight) here`);
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

const CONFIG_KEYS = [
  "Hostname",
  "Domainname",
  "User",
  "AttachStdin",
  "AttachStdout",
  "AttachStderr",
  "ExposedPorts",
  "Tty",
  "OpenStdin",
  "StdinOnce",
  "Env",
  "Cmd",
  "Healthcheck",
  "ArgsEscaped",
  "Image",
  "Volumes",
  "WorkingDir",
  "Entrypoint",
  "NetworkDisabled",
  "MacAddress",
  "OnBuild",
  "Labels",
  "StopSignal",
  "StopTimeout",
  "Shell",
  "HostConfig",
  "NetworkingConfig",
] as const;
const HOST_CONFIG_KEYS = [
  "Binds",
  "Mounts",
  "Tmpfs",
  "VolumesFrom",
  "NetworkMode",
  "PortBindings",
  "PublishAllPorts",
  "RestartPolicy",
  "AutoRemove",
  "LogConfig",
  "Dns",
  "DnsOptions",
  "DnsSearch",
  "ExtraHosts",
  "GroupAdd",
  "IpcMode",
  "PidMode",
  "CgroupnsMode",
  "OomScoreAdj",
  "ReadonlyRootfs",
  "ShmSize",
  "ConsoleSize",
  "Init",
  "Memory",
  "MemorySwap",
  "MemoryReservation",
  "MemorySwappiness",
  "NanoCpus",
  "CpuShares",
  "CpusetCpus",
  "CpusetMems",
  "PidsLimit",
  "CapDrop",
  "ContainerIDFile",
  ...Object.keys(FORBIDDEN_HOST_CONFIG),
];

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
export async function planContainerCreate(
  objects: SessionObjects,
  body: Json,
  name: string | null,
): Promise<ContainerCreatePlan> {
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
    throw new PolicyError(
      `this sandbox holds at most ${LIMITS.containersPerSession} containers; remove some with docker rm (docker ps -a lists them)`,
      409,
    );
  }

  const studentName = name ? checkName("container", name.replace(/^\//, "")) : undefined;
  const image = await objects.resolveImage(str("Image", body.Image)); // own or course images only (own-images.ts)
  const imageVolumes = await objects.imageVolumes(image);

  // Mounts: -v, --mount, --tmpfs, then anonymous volumes for -v /path and the image's VOLUMEs.
  const bound = await binds(objects, strList("Binds", host.Binds) ?? []);
  const mounted = await mounts(objects, Array.isArray(host.Mounts) ? host.Mounts : []);
  const tmpfs: Record<string, string> = {};
  for (const [path, options] of Object.entries(strMap("Tmpfs", host.Tmpfs)))
    tmpfs[mountTarget("--tmpfs", path)] = tmpfsOptions(path, options);
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
    if (mode !== undefined && mode !== "ro" && mode !== "rw")
      throw new PolicyError(`invalid --volumes-from mode "${mode}"`, 400);
    volumesFrom.push([await ownContainer(objects, ref), mode].filter(Boolean).join(":"));
  }

  // Network: the session's own, never the host's or another session's; no route out.
  const networkModeAsked = optStr("NetworkMode", host.NetworkMode) ?? "";
  let networkMode: string;
  if (["", "default", "bridge"].includes(networkModeAsked)) networkMode = scope.networkName;
  else if (networkModeAsked === "none") networkMode = "none";
  else if (networkModeAsked === "host" || networkModeAsked.startsWith("container:"))
    networkMode = await namespaceMode(objects, "--network", networkModeAsked, []);
  else networkMode = await as400(objects.networkName(networkModeAsked));
  const aliases = new Set<string>();
  const endpoints = obj(
    "NetworkingConfig.EndpointsConfig",
    obj("NetworkingConfig", body.NetworkingConfig).EndpointsConfig,
  );
  for (const [net, rawEndpoint] of Object.entries(endpoints)) {
    const endpoint = obj(`EndpointsConfig.${net}`, rawEndpoint);
    const engineNet = ["default", "bridge"].includes(net)
      ? scope.networkName
      : await as400(objects.networkName(net));
    if (engineNet !== networkMode)
      refuse(
        `connecting to several networks at create time`,
        "use docker network connect afterwards",
      );
    for (const [key, value] of Object.entries(endpoint)) {
      if (key === "Aliases")
        for (const alias of strList("Aliases", value) ?? [])
          aliases.add(checkName("network alias", alias));
      else if (!isEmpty(value)) refuse(`the network setting ${key}`);
    }
  }
  if (studentName && networkMode.startsWith(scope.prefix)) aliases.add(studentName);

  // Resources: clamp what was not asked, refuse what exceeds.
  const memory = clampResource("--memory", num("Memory", host.Memory), LIMITS.memoryBytes, mib);
  const memorySwap = num("MemorySwap", host.MemorySwap);
  if (memorySwap !== 0 && memorySwap !== -1 && memorySwap !== memory)
    refuse("--memory-swap", "containers here have no swap");
  const nanoCpus = clampResource("--cpus", num("NanoCpus", host.NanoCpus), LIMITS.nanoCpus, cpus);
  const pidsAsked = num("PidsLimit", host.PidsLimit);
  const pids = clampResource("--pids-limit", pidsAsked < 0 ? 0 : pidsAsked, LIMITS.pids, String);
  const shm = clampResource("--shm-size", num("ShmSize", host.ShmSize), LIMITS.shmBytes, mib);
  const reservation = num("MemoryReservation", host.MemoryReservation);
  if (reservation < 0 || reservation > memory) refuse("--memory-reservation above --memory");
  const askedOomScoreAdj = num("OomScoreAdj", host.OomScoreAdj);
  if (askedOomScoreAdj < 0 || askedOomScoreAdj > 1000)
    refuse(
      `--oom-score-adj ${askedOomScoreAdj}`,
      `only 0 to 1000 here (below ${LIMITS.oomScoreAdjFloor} counts as ${LIMITS.oomScoreAdjFloor})`,
    );
  const oomScoreAdj = Math.max(askedOomScoreAdj, LIMITS.oomScoreAdjFloor);

  const restart = obj("RestartPolicy", host.RestartPolicy);
  onlyKnown("RestartPolicy.", restart, ["Name", "MaximumRetryCount"]);
  const restartName = optStr("RestartPolicy.Name", restart.Name) ?? "";
  if (!RESTART_POLICIES.includes(restartName)) refuse(`--restart ${restartName}`);

  const logConfig = obj("LogConfig", host.LogConfig);
  const logType = optStr("LogConfig.Type", logConfig.Type) ?? "";
  if (logType !== "" && logType !== "json-file")
    refuse(`--log-driver ${logType}`, "logs here use json-file");
  if (!isEmpty(logConfig.Config)) refuse("--log-opt", "log size is set by the sandbox");

  const workingDir = optStr("WorkingDir", body.WorkingDir);
  if (workingDir && /^\/+(proc|sys)(\/|$)/.test(posix.normalize(workingDir)))
    refuse(`--workdir ${workingDir}`, "/proc and /sys are off limits");

  const portBindings = obj("PortBindings", host.PortBindings);
  const healthcheck =
    body.Healthcheck === undefined || body.Healthcheck === null
      ? undefined
      : obj("Healthcheck", body.Healthcheck);
  if (healthcheck) {
    onlyKnown("Healthcheck.", healthcheck, [
      "Test",
      "Interval",
      "Timeout",
      "Retries",
      "StartPeriod",
    ]);
    num("Healthcheck.Interval", healthcheck.Interval);
    boundHealthcheck(healthcheck);
  }

  const autoRemove = bool("AutoRemove", host.AutoRemove);
  const labels: Record<string, string> = {
    ...studentLabels("Labels", body.Labels),
    ...scope.ownedLabels(),
  };
  if (anonymous.length) labels[LABEL_ANON_VOLUMES] = anonymous.join(",");
  if (autoRemove) labels[LABEL_AUTOREMOVE] = "1";
  const homeBinds = [...bound.homeBinds, ...mounted.homeBinds];
  if (homeBinds.length) labels[LABEL_HOME_BINDS] = homeBindsLabel(homeBinds);
  // Published ports are never opened on the host: the workstation forwards localhost:HOST to the
  // container instead (sessions/port-forwards.ts), so `curl localhost:8080` works as at home.
  const published = publishedPorts(
    portBindings,
    bool("PublishAllPorts", host.PublishAllPorts),
    obj("ExposedPorts", body.ExposedPorts),
  );
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
    Entrypoint:
      strList(
        "Entrypoint",
        typeof body.Entrypoint === "string" ? [body.Entrypoint] : body.Entrypoint,
      ) ?? null,
    Image: image,
    WorkingDir: workingDir ?? "",
    NetworkDisabled: bool("NetworkDisabled", body.NetworkDisabled),
    Labels: labels,
    StopSignal: optStr("StopSignal", body.StopSignal) ?? "",
    ...(body.StopTimeout !== undefined && body.StopTimeout !== null
      ? { StopTimeout: num("StopTimeout", body.StopTimeout) }
      : {}),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    ...(body.Shell ? { Shell: strList("Shell", body.Shell) } : {}),
    HostConfig: {
      Binds: bound.binds,
      Mounts: [...mounted.mounts, ...bound.mounts],
      Tmpfs: tmpfs,
      VolumesFrom: volumesFrom,
      NetworkMode: networkMode,
      RestartPolicy: {
        Name: restartName,
        MaximumRetryCount: num("MaximumRetryCount", restart.MaximumRetryCount),
      },
      AutoRemove: autoRemove,
      LogConfig: {
        Type: "json-file",
        Config: { "max-size": LIMITS.logMaxSize, "max-file": LIMITS.logMaxFile },
      },
      Dns: strList("Dns", host.Dns) ?? [],
      DnsOptions: strList("DnsOptions", host.DnsOptions) ?? [],
      DnsSearch: strList("DnsSearch", host.DnsSearch) ?? [],
      ExtraHosts: strList("ExtraHosts", host.ExtraHosts) ?? [],
      GroupAdd: strList("GroupAdd", host.GroupAdd) ?? [],
      IpcMode: await namespaceMode(objects, "--ipc", optStr("IpcMode", host.IpcMode) ?? "", [
        "",
        "private",
        "shareable",
        "none",
      ]),
      PidMode: await namespaceMode(objects, "--pid", optStr("PidMode", host.PidMode) ?? "", [""]),
      CgroupnsMode: await namespaceMode(
        objects,
        "--cgroupns",
        optStr("CgroupnsMode", host.CgroupnsMode) ?? "",
        ["", "private"],
      ),
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
    NetworkingConfig: networkMode.startsWith(scope.prefix)
      ? { EndpointsConfig: { [networkMode]: { Aliases: [...aliases] } } }
      : {},
  };
  return {
    name: studentName ? scope.engineName(studentName) : undefined,
    body: rebuilt,
    studentName,
  };
}

/** `-p 8080:80`, `-p 80`, `-P`: TCP only; a missing host port gets a free-looking high one. */
export function publishedPorts(
  bindings: Json,
  publishAll: boolean,
  exposed: Json,
): PublishedPort[] {
  const out: PublishedPort[] = [];
  const entries: [string, unknown][] = Object.entries(bindings);
  if (publishAll)
    for (const key of Object.keys(exposed))
      if (!(key in bindings)) entries.push([key, [{ HostPort: "" }]]);
  for (const [key, list] of entries) {
    const [portText, protocol = "tcp"] = key.split("/") as [string, string?];
    const containerPort = Number(portText);
    if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535)
      throw new PolicyError(`invalid port ${key}`, 400);
    if (protocol !== "tcp")
      refuse(`publishing ${protocol} ports`, "only TCP ports can be published here");
    for (const binding of Array.isArray(list) ? list : []) {
      const b = obj("PortBinding", binding);
      const hostText = optStr("HostPort", b.HostPort) ?? "";
      const hostPort =
        hostText === "" ? 32768 + Math.floor(Math.random() * 28000) : Number(hostText);
      if (!Number.isInteger(hostPort) || hostPort < 1 || hostPort > 65535)
        throw new PolicyError(`invalid host port ${hostText}`, 400);
      out.push({ hostPort, containerPort, protocol: "tcp" });
    }
  }
  return out;
}

/** `docker update`: resource changes only, clamped like create. */
export function planContainerUpdate(body: Json): Json {
  // The CLI sends every resource field of `docker update` (MemorySwappiness, CpuRealtime*, ...);
  // the empty ones are ignored, the forbidden ones refused when set.
  onlyKnown("", body, [
    "Memory",
    "MemorySwap",
    "MemoryReservation",
    "MemorySwappiness",
    "NanoCpus",
    "CpuShares",
    "PidsLimit",
    "RestartPolicy",
    "CpusetCpus",
    "CpusetMems",
    ...Object.keys(FORBIDDEN_HOST_CONFIG),
  ]);
  for (const [field, flag] of Object.entries(FORBIDDEN_HOST_CONFIG))
    if (!isEmpty(body[field])) refuse(`docker update ${flag}`);
  const out: Json = {};
  if (body.Memory !== undefined) {
    out.Memory = clampResource("--memory", num("Memory", body.Memory), LIMITS.memoryBytes, mib);
    out.MemorySwap = out.Memory;
  } else if (!isEmpty(body.MemorySwap)) refuse("--memory-swap", "containers here have no swap");
  if (body.NanoCpus !== undefined)
    out.NanoCpus = clampResource("--cpus", num("NanoCpus", body.NanoCpus), LIMITS.nanoCpus, cpus);
  if (body.PidsLimit !== undefined && body.PidsLimit !== null)
    out.PidsLimit = clampResource(
      "--pids-limit",
      Math.max(0, num("PidsLimit", body.PidsLimit)),
      LIMITS.pids,
      String,
    );
  if (body.CpuShares !== undefined) out.CpuShares = cpuShares(num("CpuShares", body.CpuShares));
  if (body.MemoryReservation !== undefined)
    out.MemoryReservation = Math.min(
      num("MemoryReservation", body.MemoryReservation),
      LIMITS.memoryBytes,
    );
  if (typeof body.CpusetCpus === "string" && body.CpusetCpus) out.CpusetCpus = body.CpusetCpus;
  if (body.RestartPolicy !== undefined) {
    const restart = obj("RestartPolicy", body.RestartPolicy);
    onlyKnown("RestartPolicy.", restart, ["Name", "MaximumRetryCount"]);
    const name = optStr("RestartPolicy.Name", restart.Name) ?? "";
    if (!RESTART_POLICIES.includes(name)) refuse(`--restart ${name}`);
    out.RestartPolicy = {
      Name: name,
      MaximumRetryCount: num("MaximumRetryCount", restart.MaximumRetryCount),
    };
  }
  return out;
}
