/**
 * Networks: what a student may do to one. Bridge networks only, always internal (no route out),
 * no IPAM or driver options, at most LIMITS.networksPerSession; the session's default network
 * answers to "bridge" and cannot be removed. The student's workstation joins every network
 * they make and is hidden from what they see.
 */
import { randomBytes } from "node:crypto";
import { sendJson } from "../../http/router.ts";
import { LABEL_OWNER, bridgeName } from "../../naming/scope.ts";
import { BOUNDS } from "../bounds.ts";
import { ID, route, type Route, type RouteRequest, type SessionContext } from "../context.ts";
import { engineJson, engineRequest } from "../engine-http.ts";
import {
  bool,
  checkName,
  isEmpty,
  obj,
  onlyKnown,
  optStr,
  str,
  strList,
  studentLabels,
  type Json,
} from "../fields.ts";
import { scopedFilters } from "../filters.ts";
import { forwardOwn } from "../forward-own.ts";
import { withoutBridgeName } from "../internal-names.ts";
import { LIMITS } from "../limits.ts";
import { PolicyError, refuse } from "../refusal.ts";
import { relay, relayJson } from "../relay.ts";
import { jsonBody, noBody } from "../request-body.ts";
import type { NetworkSummary, SessionObjects } from "../session-objects.ts";

/** `docker network create` (and compose's default network): bridge, internal, no options. */
export async function planNetworkCreate(objects: SessionObjects, body: Json): Promise<Json> {
  onlyKnown("", body, [
    "Name",
    "CheckDuplicate",
    "Driver",
    "Internal",
    "Attachable",
    "Ingress",
    "IPAM",
    "EnableIPv6",
    "Options",
    "Labels",
    "Scope",
    "ConfigOnly",
    "ConfigFrom",
  ]);
  const driver = optStr("Driver", body.Driver) ?? "";
  if (driver !== "" && driver !== "bridge")
    refuse(`the network driver "${driver}"`, "only bridge networks are available here");
  for (const field of ["Ingress", "EnableIPv6", "Options", "ConfigOnly", "ConfigFrom"])
    if (!isEmpty(body[field])) refuse(`the network setting ${field}`);
  const ipam = obj("IPAM", body.IPAM);
  if (
    !isEmpty(ipam.Config) ||
    !isEmpty(ipam.Options) ||
    !["", "default", undefined, null].includes(ipam.Driver as string)
  )
    refuse("custom IP address management (--subnet, --ip-range, --gateway)");
  const counts = await objects.counts();
  if (counts.networks >= LIMITS.networksPerSession)
    throw new PolicyError(
      `this sandbox holds at most ${LIMITS.networksPerSession} networks; remove some with docker network rm`,
      409,
    );
  const name = checkName("network", str("Name", body.Name));
  if (["bridge", "host", "none"].includes(name))
    throw new PolicyError(`network with name ${name} already exists`, 409);
  return {
    Name: objects.scope.engineName(name),
    CheckDuplicate: true,
    Driver: "bridge",
    Internal: true, // no route out of the session, whatever was asked
    Options: { "com.docker.network.bridge.name": bridgeName(randomBytes(6).toString("hex")) }, // host firewall matches stw+
    Attachable: bool("Attachable", body.Attachable),
    Labels: { ...studentLabels("Labels", body.Labels), ...objects.scope.ownedLabels() },
  };
}

export async function planNetworkConnect(
  objects: SessionObjects,
  body: Json,
  disconnect: boolean,
): Promise<Json> {
  onlyKnown("", body, disconnect ? ["Container", "Force"] : ["Container", "EndpointConfig"]);
  const container = await objects.containerId(str("Container", body.Container));
  if (disconnect) return { Container: container, Force: bool("Force", body.Force) };
  const endpoint = obj("EndpointConfig", body.EndpointConfig);
  const aliases: string[] = [];
  for (const [key, value] of Object.entries(endpoint)) {
    if (key === "Aliases")
      for (const alias of strList("Aliases", value) ?? [])
        aliases.push(checkName("network alias", alias));
    else if (!isEmpty(value)) refuse(`the network setting ${key}`);
  }
  if (aliases.length > BOUNDS.smallListEntries)
    refuse(`${aliases.length} network aliases`, `at most ${BOUNDS.smallListEntries} here`);
  return { Container: container, EndpointConfig: { Aliases: aliases } };
}

export const networkRoutes: Route[] = [
  route(
    "GET",
    "/networks",
    async (s, { req, res, path, query }) => {
      await noBody(req);
      query.set("filters", scopedFilters(s.objects, "networks", query.get("filters")));
      return relayJson(
        s.view,
        res,
        await engineRequest(s.engine, { method: "GET", path, query }),
        (list) =>
          (list as (NetworkSummary & { Labels?: Record<string, string> })[])
            .filter((n) => n.Labels?.[LABEL_OWNER] === s.scope.sessionId)
            .map((n) => withoutBridgeName(hideWorkstation(s, n))),
      );
    },
    ["filters"],
  ),

  route("POST", "/networks/create", async (s, { req, res, path }) => {
    const asked = await jsonBody(req);
    const created = await s.quotaLock.run(async () =>
      engineJson<{ Id?: string }>(s.engine, {
        method: "POST",
        path,
        json: await planNetworkCreate(s.objects, asked),
      }),
    );
    const workstation = s.workstationId();
    if (created.body?.Id && workstation) {
      // The student's shell joins every network they make, so `curl http://web` works there too.
      await engineJson(s.engine, {
        method: "POST",
        path: `/networks/${created.body.Id}/connect`,
        json: { Container: workstation },
      });
    }
    return sendJson(res, created.status, s.view.json(created.body));
  }),

  route(
    "POST",
    "/networks/prune",
    async (s, { req, res }) => {
      await noBody(req);
      return sendJson(res, 200, await pruneNetworks(s));
    },
    ["filters"],
  ),

  route(
    "GET",
    `/networks/${ID}`,
    forwardOwn("networks", "", (s, n) =>
      withoutBridgeName(hideWorkstation(s, n as NetworkSummary)),
    ),
    ["verbose", "scope"],
  ),

  route("DELETE", `/networks/${ID}`, async (s, { req, res, params }) => {
    await noBody(req);
    const name = await s.objects.networkName(params[0]!);
    if (name === s.scope.networkName)
      throw new PolicyError("bridge is a pre-defined network and cannot be removed", 403);
    await detachWorkstation(s, name);
    return relay(
      s.view,
      res,
      await engineRequest(s.engine, { method: "DELETE", path: `/networks/${name}` }),
    );
  }),

  route("POST", `/networks/${ID}/connect`, connect),
  route("POST", `/networks/${ID}/disconnect`, connect),
];

async function connect(s: SessionContext, { req, res, path, params }: RouteRequest): Promise<void> {
  const name = await s.objects.networkName(params[0]!);
  const disconnect = path.endsWith("/disconnect");
  const body = await planNetworkConnect(s.objects, await jsonBody(req), disconnect);
  return relay(
    s.view,
    res,
    await engineRequest(s.engine, {
      method: "POST",
      path: `/networks/${name}/${disconnect ? "disconnect" : "connect"}`,
      json: body,
    }),
  );
}

function hideWorkstation<T extends NetworkSummary>(s: SessionContext, network: T): T {
  const workstation = s.workstationId();
  if (!network.Containers || !workstation) return network;
  const containers = { ...network.Containers };
  delete containers[workstation];
  return { ...network, Containers: containers };
}

async function detachWorkstation(s: SessionContext, network: string): Promise<void> {
  const workstation = s.workstationId();
  if (workstation)
    await engineJson(s.engine, {
      method: "POST",
      path: `/networks/${network}/disconnect`,
      json: { Container: workstation, Force: true },
    }).catch(() => undefined);
}

/** Removes the session's networks no container uses (the workstation does not count). */
async function pruneNetworks(s: SessionContext): Promise<Json> {
  const deleted: string[] = [];
  const workstation = s.workstationId();
  for (const network of await s.objects.ownedNetworks()) {
    if (network.Name === s.scope.networkName) continue;
    const { body } = await engineJson<NetworkSummary>(s.engine, {
      method: "GET",
      path: `/networks/${network.Id}`,
    });
    const users = Object.keys(body.Containers ?? {}).filter((id) => id !== workstation);
    if (users.length > 0) continue;
    await detachWorkstation(s, network.Id);
    const removed = await engineJson(s.engine, {
      method: "DELETE",
      path: `/networks/${network.Id}`,
    });
    if (removed.status < 300) deleted.push(s.view.text(network.Name));
  }
  return { NetworksDeleted: deleted };
}
