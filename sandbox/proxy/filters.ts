/** Filters on lists, prune and events: the student's, narrowed to the session's own objects. */
import { PolicyError } from "./refusal.ts";
import { obj, str } from "./fields.ts";
import type { SessionObjects } from "./session-objects.ts";

export const FILTER_KEYS: Record<string, string[]> = {
  containers: [
    "id",
    "name",
    "label",
    "status",
    "ancestor",
    "before",
    "since",
    "volume",
    "network",
    "exited",
    "health",
    "expose",
    "publish",
    "is-task",
  ],
  volumes: ["name", "label", "dangling", "driver"],
  networks: ["name", "label", "driver", "id", "type", "dangling", "scope"],
  images: ["dangling", "label", "before", "since", "reference"],
  prune: ["label", "label!", "until"],
  // `docker volume prune --all` (API 1.42): named volumes too, not only anonymous ones.
  volumePrune: ["label", "label!", "until", "all"],
  events: ["type", "event", "container", "volume", "network", "image", "label"],
};

/**
 * Parses a student's `filters` (both the map and the legacy `{"key":{"value":true}}` forms),
 * keeps the keys allowed for this list, scopes names, and adds the session's label filter:
 * label filters are ANDed by the engine, so the student can narrow the list but never widen it.
 */
export function scopedFilters(
  objects: SessionObjects,
  list: keyof typeof FILTER_KEYS,
  raw: string | null,
  addOwner = true,
): string {
  const parsed: Record<string, string[]> = {};
  if (raw) {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new PolicyError("filters is not valid JSON", 400);
    }
    for (const [key, v] of Object.entries(obj("filters", value))) {
      if (!FILTER_KEYS[list]!.includes(key)) throw new PolicyError(`invalid filter '${key}'`, 400);
      const values = Array.isArray(v) ? v : Object.keys(obj(`filters.${key}`, v));
      parsed[key] = values.map((s) => str(`filters.${key}`, s));
    }
  }
  const prefix = objects.scope.prefix;
  const scopeName = (n: string) =>
    n.startsWith("^/")
      ? `^/${prefix}${n.slice(2)}`
      : n.startsWith("^")
        ? `^/?${prefix}${n.slice(1)}`
        : n;
  if (parsed.name)
    parsed.name = parsed.name.map(
      list === "containers"
        ? scopeName
        : (n) => (n.startsWith("^") ? `^${prefix}${n.slice(1)}` : n),
    );
  if (list === "containers" && parsed.volume)
    parsed.volume = parsed.volume.map((v) => (v.startsWith("/") ? v : objects.scope.engineName(v)));
  if (list === "containers" && parsed.network)
    parsed.network = parsed.network.map((n) =>
      n === "bridge" ? objects.scope.networkName : objects.scope.engineName(n),
    );
  if (addOwner) parsed.label = [...(parsed.label ?? []), objects.scope.ownerFilter()];
  return JSON.stringify(parsed);
}
