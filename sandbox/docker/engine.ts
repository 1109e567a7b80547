import Docker from "dockerode";
import { readFileSync } from "node:fs";
import type { RequestOptions } from "node:http";
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
  /** Where raw HTTP for the engine goes: the proxy forwards students' requests here. */
  httpTarget: Pick<RequestOptions, "socketPath" | "host" | "port">;
  /** Pinned API version: the proxy forwards every request under this version prefix. */
  apiVersion: string;
  /** Container starts in flight, bounded across every session (engine-admission.ts). */
  starts: EngineAdmission;
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
  const common = { name: address.name, address, apiVersion: "1.41", starts };
  if (address.protocol === "unix")
    return {
      ...common,
      docker: new Docker({ socketPath: address.socketPath!, version: "v1.41" }),
      httpTarget: { socketPath: address.socketPath! },
    };
  const tls = address.tlsDir
    ? {
        protocol: "https" as const,
        ca: readFileSync(join(address.tlsDir, "ca.pem")),
        cert: readFileSync(join(address.tlsDir, "cert.pem")),
        key: readFileSync(join(address.tlsDir, "key.pem")),
      }
    : { protocol: "http" as const };
  return {
    ...common,
    docker: new Docker({ host: address.host!, port: address.port!, version: "v1.41", ...tls }),
    // The proxy's raw requests (proxy/engine-http.ts) speak plain HTTP: a TLS engine is refused
    // for sessions until they speak HTTPS too (docs/decisions/engines.md).
    httpTarget: { host: address.host!, port: address.port! },
  };
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
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
  );
  try {
    const [version, info] = await Promise.race([
      Promise.all([
        engine.docker.version(),
        engine.docker.info() as Promise<{ SecurityOptions?: string[]; MemTotal?: number }>,
      ]),
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
    return {
      answers: false,
      message: `the Docker engine at ${describeTarget(engine)} does not answer: ${(error as Error).message}`,
    };
  }
}

function describeTarget(engine: Engine): string {
  return engine.httpTarget.socketPath ?? `${engine.httpTarget.host}:${engine.httpTarget.port}`;
}
