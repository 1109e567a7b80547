/**
 * STOWAGE_ENGINES: the engines sessions may run on besides the default one (DOCKER_HOST), as
 * comma-separated DOCKER_HOST-style addresses with options in the query:
 *
 *   unix:///run/stowage-e26/docker.sock?name=e26&subnets=10.226.0.0/16
 *   tcp://docker-2.example.org:2376?name=host2&tls=/etc/stowage/engines/host2
 *
 * - name: how /api/health and the drain API call it (default engine-2, engine-3 ... by position;
 *   the default engine is "default").
 * - subnets: the range its sandbox networks take /26 subnets from (default STOWAGE_SESSION_SUBNETS).
 *   Engines on the same host share its routing table, so a unix:// engine must have its own range.
 * - tls: a folder holding ca.pem, cert.pem and key.pem, as DOCKER_CERT_PATH does for the docker
 *   CLI; with it the engine is reached over HTTPS and its certificate checked against ca.pem.
 * - drain=1: the engine starts draining (no new sessions; the drain API can end it).
 * - remote=1: the engine's host is not this one, though its socket is here (a socket forwarded
 *   over SSH, say): nothing of its host is used (no shared files, cgroupfs or iptables), as for
 *   every tcp:// engine. The tests use it to run the remote path against an engine of this host.
 *
 * Only parsing and checking here (pure): engine.ts makes the clients.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

export interface EngineAddress {
  name: string;
  /** The address as DOCKER_HOST would say it, without the query. */
  address: string;
  protocol: "unix" | "tcp";
  socketPath?: string;
  host?: string;
  port?: number;
  /** Folder with ca.pem, cert.pem, key.pem (tcp only). */
  tlsDir?: string;
  subnets: string;
  isDefault: boolean;
  /** Starts draining (drain=1). */
  drain: boolean;
  /** Its host is not this one: tcp://, or unix:// with remote=1 (docker/engine.ts `remote`). */
  remote: boolean;
}

export const DEFAULT_ENGINE_NAME = "default";
const NAME = /^[a-z0-9][a-z0-9-]{0,19}$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
export const TLS_FILES = ["ca.pem", "cert.pem", "key.pem"] as const;

/** Reads one address; throws an Error whose message names the entry and what is wrong with it. */
export function parseEngineAddress(
  entry: string,
  defaults: { name: string; subnets: string; isDefault?: boolean },
): EngineAddress {
  const fail = (why: string): never => {
    throw new Error(`${JSON.stringify(entry)}: ${why}`);
  };
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return fail("not an address; expected unix:///path/docker.sock or tcp://host:port");
  }
  const known = new Set(["name", "subnets", "tls", "drain", "remote"]);
  for (const key of url.searchParams.keys())
    if (!known.has(key)) fail(`unknown option ${key}= (known: name, subnets, tls, drain, remote)`);
  const flag = (key: string): boolean => {
    const value = url.searchParams.get(key);
    if (value !== null && !["0", "1", "true", "false"].includes(value))
      fail(`${key}=${value}: use ${key}=1 (or 0)`);
    return value === "1" || value === "true";
  };
  const drain = flag("drain");
  const remoteFlag = flag("remote");
  const name = url.searchParams.get("name") ?? defaults.name;
  if (!NAME.test(name)) fail(`name=${name}: use 1-20 lower-case letters, digits or dashes`);
  const subnets = url.searchParams.get("subnets") ?? defaults.subnets;
  const cidr = CIDR.exec(subnets);
  if (!cidr || cidr.slice(1, 5).some((p) => Number(p) > 255) || Number(cidr[5]) > 26)
    fail(`subnets=${subnets}: expected a range of /26 or wider, like 10.226.0.0/16`);
  const tlsDir = url.searchParams.get("tls") ?? undefined;
  const isDefault = defaults.isDefault ?? false;
  if (url.protocol === "unix:") {
    if (tlsDir) fail("tls= is for tcp:// engines; a unix socket needs none");
    if (!url.pathname || url.pathname === "/") fail("no socket path");
    return {
      name,
      address: `unix://${url.pathname}`,
      protocol: "unix",
      socketPath: url.pathname,
      subnets,
      isDefault,
      drain,
      remote: remoteFlag,
    };
  }
  if (url.protocol === "tcp:" || url.protocol === "http:") {
    if (!url.hostname) fail("no host");
    const port = Number(url.port || (tlsDir ? 2376 : 2375));
    if (tlsDir) {
      const missing = TLS_FILES.filter((f) => !existsSync(join(tlsDir, f)));
      if (missing.length) fail(`tls=${tlsDir} lacks ${missing.join(", ")}`);
    }
    return {
      name,
      address: `tcp://${url.host}`,
      protocol: "tcp",
      host: url.hostname,
      port,
      tlsDir,
      subnets,
      isDefault,
      drain,
      remote: true,
    };
  }
  return fail(`${url.protocol}// engines are not supported (unix:// or tcp://)`);
}

/** The default engine first, then STOWAGE_ENGINES' entries; names, addresses and local ranges unique. */
export function parseEngineList(settings: {
  dockerHost: string;
  engines?: string | undefined;
  sessionSubnets: string;
}): EngineAddress[] {
  let first: EngineAddress;
  try {
    first = parseEngineAddress(settings.dockerHost, {
      name: DEFAULT_ENGINE_NAME,
      subnets: settings.sessionSubnets,
      isDefault: true,
    });
  } catch (error) {
    throw Object.assign(error as Error, { setting: "dockerHost" });
  }
  const list: EngineAddress[] = [first];
  const entries = (settings.engines ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  for (const [index, entry] of entries.entries()) {
    const engine = parseEngineAddress(entry, {
      name: `engine-${index + 2}`,
      subnets: settings.sessionSubnets,
    });
    const clash = list.find((e) => e.name === engine.name || e.address === engine.address);
    if (clash)
      throw new Error(
        `${JSON.stringify(entry)}: ${clash.name === engine.name ? `the name ${engine.name}` : `the address ${engine.address}`} is already the ${clash.isDefault ? "default engine's (DOCKER_HOST)" : `engine ${clash.name}'s`}`,
      );
    // Engines on this host share its routes: two with one range would hand out the same subnets.
    const local = list.find((e) => !e.remote && !engine.remote && e.subnets === engine.subnets);
    if (local)
      throw new Error(
        `${JSON.stringify(entry)}: engines on this host need their own subnets= (${engine.subnets} is already ${local.name}'s)`,
      );
    list.push(engine);
  }
  return list;
}
