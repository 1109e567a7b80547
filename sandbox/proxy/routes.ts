/**
 * THE ROUTE TABLE: every Docker API endpoint a student's client may reach, one row each (method,
 * path pattern, query parameters passed on, handler), by resource. An endpoint not listed is
 * refused; so is any query parameter a row does not name. What a student may do to a resource,
 * and how the proxy does it, is in that resource's file:
 *
 *   resources/system.ts      ping, version, info, system df, events
 *   resources/containers.ts  containers (their create/update rules: resources/container-create.ts)
 *   resources/exec.ts        docker exec
 *   resources/volumes.ts     volumes
 *   resources/networks.ts    networks
 *   resources/images.ts      images (and what is refused: pull, build, push...)
 *
 * A new endpoint is a row in its resource's list; the lists are joined here.
 */
import { splitVersionPrefix } from "./api-versions.ts";
import type { Route } from "./context.ts";
import { PolicyError, refuse } from "./refusal.ts";
import { containerRoutes } from "./resources/containers.ts";
import { execRoutes } from "./resources/exec.ts";
import { imageRoutes } from "./resources/images.ts";
import { networkRoutes } from "./resources/networks.ts";
import { systemRoutes } from "./resources/system.ts";
import { volumeRoutes } from "./resources/volumes.ts";

export const ROUTES: readonly Route[] = [
  ...systemRoutes,
  ...containerRoutes,
  ...execRoutes,
  ...volumeRoutes,
  ...networkRoutes,
  ...imageRoutes,
];

const REFUSED_PREFIXES: [RegExp, string][] = [
  [/^\/(swarm|nodes|services|tasks|secrets|configs)(\/|$)/, "Swarm"],
  [/^\/plugins(\/|$)/, "plugins"],
  [/^\/distribution(\/|$)/, "registry lookups"],
];

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new PolicyError(`invalid escape in ${JSON.stringify(part.slice(0, 100))}`, 400);
  }
}

export interface MatchedRoute {
  route: Route;
  params: string[];
  query: URLSearchParams;
}

/** Finds the route for a request, or throws the refusal the student sees. */
export function matchRoute(method: string, path: string, rawQuery: URLSearchParams): MatchedRoute {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const match = route.path.exec(path);
    if (!match) continue;
    if (route.refused) refuse(route.refused);
    const query = new URLSearchParams();
    for (const key of route.query) {
      const values = rawQuery.getAll(key);
      if (values.length > 1)
        throw new PolicyError(`the query parameter ${key} is given twice`, 400);
      if (values.length === 1) query.set(key, values[0]!);
    }
    const psArgs = query.get("ps_args");
    if (psArgs !== null && !/^[A-Za-z0-9 ,=_-]{0,64}$/.test(psArgs))
      throw new PolicyError("ps_args: use ps options (letters, digits, - , =)", 400);
    return { route, params: match.slice(1).map(decodePart), query };
  }
  // `docker inspect NAME` asks for each kind of object in turn, plugins too: "not found" lets the
  // CLI go on and end with "No such object: NAME", as at home.
  const plugin = method === "GET" ? /^\/plugins\/([^/]+)\/json$/.exec(path) : null;
  if (plugin)
    throw new PolicyError(`plugin "${decodePart(plugin[1]!).slice(0, 100)}" not found`, 404);
  for (const [pattern, what] of REFUSED_PREFIXES) if (pattern.test(path)) refuse(what);
  throw new PolicyError(`this sandbox does not offer ${method} ${path}`, 404);
}

/** The path (without its version prefix), query and API version of a request target. */
export function splitUrl(
  url: string,
  defaultVersion: string,
): { path: string; query: URLSearchParams; version: string } {
  let parsed: URL;
  try {
    // Origin-form ("/v1.41/...") is read against a fixed origin, so "//x/..." stays a path and
    // never becomes a host; absolute-form ("http://any/v1.41/...") keeps only its path.
    parsed = url.startsWith("/") ? new URL(`http://docker${url}`) : new URL(url);
  } catch {
    throw new PolicyError(`invalid request target ${JSON.stringify(url.slice(0, 100))}`, 400);
  }
  // The CLI sends /v1.45/...; /_ping comes unversioned.
  const { version, path: unversioned } = splitVersionPrefix(parsed.pathname, defaultVersion);
  const path = unversioned.replace(/\/+$/, "") || "/";
  return { path, query: parsed.searchParams, version };
}
