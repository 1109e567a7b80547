import Docker from "dockerode";
import { readFileSync } from "node:fs";
import {
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type RequestOptions,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest, type AgentOptions } from "node:https";
import { isIP } from "node:net";
import { checkServerIdentity } from "node:tls";
import { join } from "node:path";
import { EngineAdmission } from "./engine-admission.ts";
import {
  DEFAULT_ENGINE_NAME,
  parseEngineAddress,
  type EngineAddress,
} from "../naming/engine-addresses.ts";

/**
 * The Docker engine sessions run on, named DOCKER_HOST-style (unix:///path or tcp://host:port)
 * so sessions can later be spread over several engines.
 */
export interface Engine {
  /** How health and the drain API call it ("default" for DOCKER_HOST's engine). */
  name: string;
  /** Its address and options (naming/engine-addresses.ts). */
  address: EngineAddress;
  /** dockerode client for the server's own calls. */
  docker: Docker;
  /**
   * Where raw HTTP for the engine goes: the proxy forwards students' requests here. Carries the
   * TLS material (ca, cert, key) of a `tls=` engine; send through `rawEngineRequest`.
   */
  httpTarget: Pick<RequestOptions, "socketPath" | "host" | "port"> & { tls?: TlsMaterial };
  /**
   * Nothing of the engine's host is this server's: no shared files (the home is a volume on the
   * engine), no cgroupfs, no iptables (tcp:// engines, and unix:// ones with remote=1).
   */
  remote: boolean;
  /**
   * The API version of the server's own calls and of students' requests without one: 1.41, or
   * the engine's oldest when newer (settleApiVersion, at start and at each probe until settled).
   */
  apiVersion: string;
  /** Container starts in flight, bounded across every session (engine-admission.ts). */
  starts: EngineAdmission;
}

/** A `tls=` engine's ca.pem, cert.pem and key.pem. */
export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export function engineFrom(
  dockerHost: string | EngineAddress,
  options: { concurrentStarts: number; starts?: EngineAdmission },
): Engine {
  let address: EngineAddress;
  try {
    address =
      typeof dockerHost === "string"
        ? parseEngineAddress(dockerHost, {
            name: DEFAULT_ENGINE_NAME,
            subnets: "10.213.0.0/16",
            isDefault: true,
          })
        : dockerHost;
  } catch (error) {
    throw new Error(`DOCKER_HOST=${(error as Error).message}`);
  }
  // Engines of one host may share one admission: their starts use the same cores.
  const starts = options.starts ?? new EngineAdmission(options.concurrentStarts);
  const common = {
    name: address.name,
    address,
    apiVersion: OLDEST_API_VERSION,
    starts,
    remote: address.remote,
  };
  if (address.protocol === "unix")
    return {
      ...common,
      docker: new Docker({ socketPath: address.socketPath!, version: `v${OLDEST_API_VERSION}` }),
      httpTarget: { socketPath: address.socketPath! },
    };
  const material = address.tlsDir
    ? {
        ca: readFileSync(join(address.tlsDir, "ca.pem")),
        cert: readFileSync(join(address.tlsDir, "cert.pem")),
        key: readFileSync(join(address.tlsDir, "key.pem")),
      }
    : undefined;
  return {
    ...common,
    docker: new Docker({
      host: address.host!,
      port: address.port!,
      version: `v${OLDEST_API_VERSION}`,
      ...(material ? { protocol: "https" as const, ...material } : { protocol: "http" as const }),
    }),
    httpTarget: { host: address.host!, port: address.port!, tls: material },
  };
}

/**
 * What a TLS connection to the engine presents and checks: our client certificate, and the
 * engine's checked against its CA and the entry's host. Not against "docker", the Host header
 * the CLI sends: without `servername` and `checkServerIdentity` Node takes the Host header as the
 * name to check (and to send as SNI), and every raw request to a certificate made out to
 * 127.0.0.1 failed with ERR_TLS_CERT_ALTNAME_INVALID (tests/faults/engine-tls.test.ts).
 */
function tlsCheck(host: string, tls: TlsMaterial): AgentOptions {
  return {
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    servername: isIP(host) ? "" : host,
    checkServerIdentity: (_name, cert) => checkServerIdentity(host, cert),
  };
}

/** One keep-alive agent per engine's TLS material (its connections are reused between requests). */
const tlsAgents = new WeakMap<TlsMaterial, HttpsAgent>();
function engineTlsAgent(host: string, tls: TlsMaterial): HttpsAgent {
  let agent = tlsAgents.get(tls);
  if (!agent)
    tlsAgents.set(tls, (agent = new HttpsAgent({ keepAlive: true, ...tlsCheck(host, tls) })));
  return agent;
}

/**
 * One raw HTTP request to the engine (the proxy's relays, upgrades and version probes): over its
 * unix socket, plain TCP, or HTTPS with the engine's `tls=` material (its certificate checked
 * against ca.pem, ours presented as the client's).
 */
export function rawEngineRequest(
  engine: Pick<Engine, "httpTarget">,
  options: Omit<RequestOptions, "socketPath" | "host" | "port">,
  onResponse?: (res: IncomingMessage) => void,
): ClientRequest {
  const { tls, ...target } = engine.httpTarget;
  if (tls) {
    const host = target.host ?? "";
    // A request given no agent (all but the upgrades, which take their own connection) goes
    // through the engine's keep-alive agent: Node pools no connection of a request that brings
    // its own certificate check, so each would have paid a TLS handshake (18 per `docker run`).
    const own = options.agent === undefined;
    return httpsRequest(
      {
        ...options,
        ...target,
        ...(own ? { agent: engineTlsAgent(host, tls) } : tlsCheck(host, tls)),
      },
      onResponse,
    );
  }
  return httpRequest({ ...options, ...target }, onResponse);
}

/**
 * The Docker API versions this server (its own calls and the students' proxy) knows the fields
 * of: 1.41 (Engine 20.10) to 1.45 (Engine 26). Against an engine whose oldest version is newer
 * (Engine 29 dropped everything before 1.44), the server speaks that engine's oldest.
 */
export const OLDEST_API_VERSION = "1.41";
export const NEWEST_API_VERSION = "1.45";

/**
 * The oldest API a remote engine may speak: the session's home is a volume there, and a student's
 * bind of a home folder a mount of it with VolumeOptions.Subpath (API 1.45, Engine 26).
 */
export const REMOTE_API_FLOOR = "1.45";

export function remoteTooOld(
  engine: Pick<Engine, "name">,
  answer: { ApiVersion?: string; Version?: string },
): string {
  return `the Docker engine ${engine.name} (${answer.Version ?? "?"}, API ${answer.ApiVersion ?? "?"}) is remote and too old: a remote engine needs API ${REMOTE_API_FLOOR} (Docker Engine 26) or newer, because the sandbox's home is a volume there and a student's bind of a home folder is a volume mount with a subpath (VolumeOptions.Subpath, API ${REMOTE_API_FLOOR}); upgrade it or list it without remote`;
}

/** Compares two "major.minor" versions: negative, zero or positive. */
export function compareApiVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split(".").map(Number);
  const [bMajor = 0, bMinor = 0] = b.split(".").map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

/** The engine's unversioned `GET /version` (every engine answers it, whatever it supports), or undefined. */
export function askEngineVersion(
  engine: Pick<Engine, "httpTarget">,
  timeoutMs = 5000,
): Promise<{ ApiVersion?: string; MinAPIVersion?: string; Version?: string } | undefined> {
  return new Promise((resolve) => {
    const req = rawEngineRequest(
      engine,
      {
        method: "GET",
        path: "/version",
        headers: { host: "docker" },
        timeout: timeoutMs,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on(
          "data",
          (chunk: string) => (text += chunk.length + text.length < 65_536 ? chunk : ""),
        );
        res.on("end", () => {
          try {
            resolve(JSON.parse(text) as { ApiVersion?: string; MinAPIVersion?: string });
          } catch {
            resolve(undefined);
          }
        });
      },
    );
    req.on("error", () => resolve(undefined));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/**
 * Settles the API version the server speaks to `engine`: 1.41, or the engine's oldest when that
 * is newer. An engine this server cannot speak to is an error naming both ranges; one that does
 * not answer keeps the version it had (asked again at its next probe).
 */
export async function settleApiVersion(engine: Engine, timeoutMs?: number): Promise<void> {
  const answer = await askEngineVersion(engine, timeoutMs);
  if (!answer?.ApiVersion) return;
  const oldest = answer.MinAPIVersion ?? OLDEST_API_VERSION;
  if (
    compareApiVersions(answer.ApiVersion, OLDEST_API_VERSION) < 0 ||
    compareApiVersions(oldest, NEWEST_API_VERSION) > 0
  )
    throw new Error(
      `the Docker engine ${engine.name} (${answer.Version ?? "?"}) speaks API ${oldest} to ${answer.ApiVersion}; Stowage speaks ${OLDEST_API_VERSION} to ${NEWEST_API_VERSION} (Docker 20.10 to 26 and later engines that still accept 1.45)`,
    );
  if (engine.remote && compareApiVersions(answer.ApiVersion, REMOTE_API_FLOOR) < 0)
    throw new Error(remoteTooOld(engine, answer));
  const version = compareApiVersions(oldest, OLDEST_API_VERSION) > 0 ? oldest : OLDEST_API_VERSION;
  engine.apiVersion = version;
  (engine.docker.modem as { version?: string }).version = `v${version}`;
}

/** dockerode passes an abortSignal on to every call; its types leave it out of version() and info(). */
interface AbortableDocker {
  version(options: { abortSignal: AbortSignal }): Promise<Docker.DockerVersion>;
  info(options: {
    abortSignal: AbortSignal;
  }): Promise<{ SecurityOptions?: string[]; MemTotal?: number }>;
}

/** Answers within `timeoutMs` whether the engine responds, with its version when it does. */
export async function probeEngine(
  engine: Engine,
  timeoutMs = 2000,
): Promise<
  | {
      answers: true;
      version: string;
      apiVersion: string;
      usernsRemap: boolean;
      memTotalBytes: number | undefined;
    }
  | { answers: false; message: string }
> {
  // The probe's calls are aborted with it: an engine that hangs (rather than refuses) would
  // otherwise hold two more open requests after every probe, every two seconds, until it answers.
  const signal = AbortSignal.timeout(timeoutMs);
  const timeout = new Promise<never>((_, reject) =>
    signal.addEventListener("abort", () => reject(new Error(`no answer within ${timeoutMs} ms`))),
  );
  try {
    const [version, info] = await Promise.race([
      // The version first (unversioned): an engine upgraded since may have dropped the old one.
      settleApiVersion(engine, timeoutMs).then(() =>
        Promise.all([
          (engine.docker as AbortableDocker).version({ abortSignal: signal }),
          (engine.docker as AbortableDocker).info({ abortSignal: signal }),
        ]),
      ),
      timeout,
    ]);
    return {
      answers: true,
      version: version.Version,
      apiVersion: version.ApiVersion,
      usernsRemap: (info.SecurityOptions ?? []).some((o) => o.includes("userns")),
      memTotalBytes: info.MemTotal,
    };
  } catch (error) {
    const name = engine.address.isDefault ? "" : `${engine.name} `;
    return {
      answers: false,
      message: `the Docker engine ${name}at ${describeTarget(engine)} does not answer: ${whyNoAnswer(engine, error as Error & { code?: string })}`,
    };
  }
}

function describeTarget(engine: Engine): string {
  return engine.httpTarget.socketPath ?? `${engine.httpTarget.host}:${engine.httpTarget.port}`;
}

/** A failed call's reason, said in the operator's terms when it is the engine's TLS (tls= material, or none given). */
function whyNoAnswer(engine: Engine, error: Error & { code?: string }): string {
  // Node's advice about the system's CA store does not apply: the engine's CA is tls=<dir>/ca.pem.
  const reason = error.message.replace(/; if the root CA is installed locally.*$/s, "").trim();
  const dir = engine.address.tlsDir;
  const code = error.code ?? "";
  if (!dir)
    return /HTTP request to an HTTPS server/.test(reason)
      ? `it speaks TLS at that port (it answered "Client sent an HTTP request to an HTTPS server"): give the entry tls=<a folder with ca.pem, cert.pem and key.pem>`
      : reason;
  if (
    /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_SIGNATURE_FAILURE)$/.test(
      code,
    )
  )
    return `its certificate is not signed by the CA in ${join(dir, "ca.pem")} (${reason})`;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
    return `its certificate is not made out to ${engine.httpTarget.host} (${reason})`;
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID")
    return `its certificate is not valid now (${reason})`;
  const alert = /alert (unknown ca|bad certificate|certificate required|certificate expired)/i.exec(
    reason,
  );
  if (alert)
    return `it refused the client certificate ${join(dir, "cert.pem")}: it is not signed by a CA the engine trusts, or not valid (TLS alert: ${alert[1]})`;
  return reason;
}
