/**
 * Names the sandbox gives to a student's objects on the engine that the student must not see,
 * taken out of inspect and list answers: they tell nothing about Docker, leak the session's
 * layout, and tools compare them (Compose v1 recreated a network whose options "changed" when
 * it read back the bridge name the proxy had added).
 */
import { BRIDGE_PREFIX } from "../naming/scope.ts";

type Json = Record<string, unknown>;

const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";

/** A network as `docker network inspect` / `ls` shows it: without the sandbox's bridge name. */
export function withoutBridgeName<T extends object>(network: T): T {
  const options = (network as Json).Options as Record<string, string> | null | undefined;
  if (!options || !options[BRIDGE_NAME_OPTION]?.startsWith(BRIDGE_PREFIX)) return network;
  const rest = { ...options };
  delete rest[BRIDGE_NAME_OPTION];
  return { ...network, Options: rest };
}

/** A container as `docker inspect` shows it: without the session's cgroup (CgroupParent). */
export function withoutCgroupParent(container: Json, cgroupParent: string | undefined): Json {
  const host = container.HostConfig as Json | undefined;
  if (!cgroupParent || !host || host.CgroupParent !== cgroupParent) return container;
  return { ...container, HostConfig: { ...host, CgroupParent: "" } };
}
