/**
 * The private Engine 26 reached over TCP with TLS (`scripts/test-engine.sh 26t`), and one
 * session's Docker API proxy on an engine without a server around it. Shared by
 * tests/faults/engine-tls.test.ts and the benchmark's `remote` phase.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import pino from "pino";
import type { Engine } from "../sandbox/docker/engine.ts";
import { LABEL_INSTANCE, SessionScope, bridgeName } from "../sandbox/naming/scope.ts";
import { SandboxProxy } from "../sandbox/proxy/proxy-server.ts";
import { SubnetPool } from "../sandbox/sessions/subnets.ts";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..");
const TEST_ENGINE = join(ROOT, "scripts/test-engine.sh");

/** The docker CLI of Engine 26 (the workstation's release), unpacked by scripts/engine26.sh. */
export const DOCKER_CLI_26 = join(ROOT, ".tools/docker26/bin/docker");

/**
 * 26t's own unix socket, for the script's waits and image copies and the benchmark's comparison
 * of the two transports on one engine. The tests reach the engine by TCP only.
 */
export const TLS_ENGINE_OWN_SOCKET = "/run/stowage-e26t/docker.sock";

export interface TlsEngine {
  /** tcp://127.0.0.1:<port>, as DOCKER_HOST says it. */
  address: string;
  /** The client's ca.pem, cert.pem and key.pem (tls= / DOCKER_CERT_PATH). */
  tlsDir: string;
  /** Its sandbox networks' range (its host is this one: it must not be another engine's). */
  sessionSubnets: string;
  /** False when it was running before: then whoever started it stops it. */
  startedHere: boolean;
}

/** Starts the engine (or finds it running) and reads where it listens from the script's output. */
export async function startTlsEngine(): Promise<TlsEngine> {
  const { stdout } = await run("bash", [TEST_ENGINE, "26t", "start"], { timeout: 600_000 });
  const vars = Object.fromEntries(
    [...stdout.matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!] as const),
  );
  const { DOCKER_HOST, DOCKER_CERT_PATH, STOWAGE_SESSION_SUBNETS } = vars;
  if (!DOCKER_HOST?.startsWith("tcp://") || !DOCKER_CERT_PATH || !STOWAGE_SESSION_SUBNETS)
    throw new Error(`scripts/test-engine.sh 26t start printed no TLS address: ${stdout}`);
  return {
    address: DOCKER_HOST,
    tlsDir: DOCKER_CERT_PATH,
    sessionSubnets: STOWAGE_SESSION_SUBNETS,
    startedHere: vars.STOWAGE_TEST_ENGINE_STARTED !== "0",
  };
}

export async function stopTlsEngine(): Promise<void> {
  await run("bash", [TEST_ENGINE, "26t", "stop"], { timeout: 120_000 });
}

/** A session's proxy socket on `engine`, with the session's network there; close() removes what it made. */
export interface StandaloneProxy {
  scope: SessionScope;
  socketPath: string;
  close(): Promise<void>;
}

/**
 * One session's proxy as the session manager makes it (its scope, its internal network from
 * `subnets`, its socket), without a workstation: a docker CLI on this host pointed at the socket
 * is the student's. Everything it and the student made carries its instance label.
 */
export async function standaloneProxy(engine: Engine, subnets: string): Promise<StandaloneProxy> {
  await mkdir(join(ROOT, ".data"), { recursive: true });
  const sessionDir = await mkdtemp(join(ROOT, ".data", "proxy-"));
  const scope = new SessionScope(
    randomBytes(6).toString("hex"),
    `t${randomBytes(4).toString("hex")}`,
    sessionDir,
  );
  await mkdir(scope.runDir, { recursive: true });
  await mkdir(scope.workspaceDir, { recursive: true });
  const removeAll = async () => {
    const filters = { label: [`${LABEL_INSTANCE}=${scope.instance}`] };
    for (const c of await engine.docker.listContainers({ all: true, filters }))
      await engine.docker.getContainer(c.Id).remove({ force: true, v: true });
    for (const v of (await engine.docker.listVolumes({ filters })).Volumes ?? [])
      await engine.docker.getVolume(v.Name).remove({ force: true });
    for (const n of await engine.docker.listNetworks({ filters }))
      await engine.docker.getNetwork(n.Id).remove();
  };
  const proxy = new SandboxProxy({
    scope,
    engine,
    log: pino({ level: "silent" }),
    workstationId: () => undefined,
  });
  try {
    await new SubnetPool(subnets).createNetwork(engine.docker, {
      Name: scope.networkName,
      Driver: "bridge",
      Internal: true,
      CheckDuplicate: true,
      Labels: scope.ownedLabels(),
      Options: { "com.docker.network.bridge.name": bridgeName(scope.sessionId) },
    });
    await proxy.listen();
  } catch (error) {
    await removeAll().catch(() => undefined);
    await rm(sessionDir, { recursive: true, force: true });
    throw error;
  }
  return {
    scope,
    socketPath: scope.proxySocketPath,
    close: async () => {
      await proxy.close();
      await removeAll();
      await rm(sessionDir, { recursive: true, force: true });
    },
  };
}

/** The docker CLI 26 as a student's, against a proxy socket: its own empty config, no TLS variables. */
export function dockerThrough(
  socketPath: string,
  configDir: string,
): (script: string) => Promise<{ stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: configDir };
  env.DOCKER_HOST = `unix://${socketPath}`;
  env.DOCKER_CONFIG = configDir;
  env.DOCKER = DOCKER_CLI_26;
  return (script) => run("sh", ["-c", script], { env, timeout: 60_000 });
}
