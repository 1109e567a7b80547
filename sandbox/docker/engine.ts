import Docker from "dockerode";
import type { RequestOptions } from "node:http";
import { EngineAdmission } from "./engine-admission.ts";

/**
 * The Docker engine sessions run on, named DOCKER_HOST-style (unix:///path or tcp://host:port)
 * so sessions can later be spread over several engines.
 */
export interface Engine {
  /** dockerode client for the server's own calls. */
  docker: Docker;
  /** Where raw HTTP for the engine goes: the proxy forwards students' requests here. */
  httpTarget: Pick<RequestOptions, "socketPath" | "host" | "port">;
  /** Pinned API version: the proxy forwards every request under this version prefix. */
  apiVersion: string;
  /** Container starts in flight, bounded across every session (engine-admission.ts). */
  starts: EngineAdmission;
}

export function engineFrom(dockerHost: string, options: { concurrentStarts: number }): Engine {
  const url = new URL(dockerHost);
  const starts = new EngineAdmission(options.concurrentStarts);
  if (url.protocol === "unix:") {
    return {
      docker: new Docker({ socketPath: url.pathname, version: "v1.41" }),
      httpTarget: { socketPath: url.pathname },
      apiVersion: "1.41",
      starts,
    };
  }
  if (url.protocol === "tcp:" || url.protocol === "http:") {
    const port = Number(url.port || 2375);
    return {
      docker: new Docker({ host: url.hostname, port, protocol: "http", version: "v1.41" }),
      httpTarget: { host: url.hostname, port },
      apiVersion: "1.41",
      starts,
    };
  }
  throw new Error(`DOCKER_HOST=${dockerHost}: only unix:// and tcp:// engines are supported`);
}

/** Answers within `timeoutMs` whether the engine responds, with its version when it does. */
export async function probeEngine(
  engine: Engine,
  timeoutMs = 2000,
): Promise<
  | { answers: true; version: string; apiVersion: string; usernsRemap: boolean }
  | { answers: false; message: string }
> {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
  );
  try {
    const [version, info] = await Promise.race([
      Promise.all([
        engine.docker.version(),
        engine.docker.info() as Promise<{ SecurityOptions?: string[] }>,
      ]),
      timeout,
    ]);
    return {
      answers: true,
      version: version.Version,
      apiVersion: version.ApiVersion,
      usernsRemap: (info.SecurityOptions ?? []).some((o) => o.includes("userns")),
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
