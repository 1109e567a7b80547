/**
 * What a session keeps of its Docker events for the checks (checks/check-session.ts: history(),
 * volumeUses()), bounded in bytes as well as in count. An engine event carries every label of
 * its container as an attribute: kept as they come, a student with fat labels made each session
 * hold up to 2000 copies of them, and three sessions exhausted the server's heap.
 */

/** Per session. ~200 bytes an event as kept: some 1300 recent events, more than an exercise makes. */
export const HISTORY_LIMITS = { bytes: 256 * 1024, events: 2000, attributeChars: 256 } as const;

/**
 * The attributes the engine itself puts on events (container, volume and network events), as
 * opposed to the container's labels: the ones checks read (a mount's destination and read/write,
 * the container of a volume or network event, an exit code).
 */
const ENGINE_ATTRIBUTES = new Set([
  "name",
  "image",
  "exitCode",
  "signal",
  "container",
  "destination",
  "read/write",
  "propagation",
  "driver",
  "type",
  "execID",
]);
/** Of the labels, only Compose's: which project and service a container belongs to. */
const KEPT_LABEL_PREFIX = "com.docker.compose.";
const KEPT_LABELS = new Set(
  ["project", "service", "container-number", "oneoff"].map((l) => KEPT_LABEL_PREFIX + l),
);

/** An event's attributes as the history keeps them: the engine's own and Compose's, each value clipped. */
export function keptAttributes(attributes: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (!ENGINE_ATTRIBUTES.has(key) && !KEPT_LABELS.has(key)) continue;
    kept[key] = String(value).slice(0, HISTORY_LIMITS.attributeChars);
  }
  return kept;
}

/** What one kept event costs, roughly, in the server's memory (strings are counted as UTF-16). */
export function eventBytes(event: {
  type: string;
  action: string;
  id: string;
  name: string | undefined;
  attributes: Record<string, string>;
}): number {
  let chars = event.type.length + event.action.length + event.id.length + (event.name?.length ?? 0);
  for (const [key, value] of Object.entries(event.attributes)) chars += key.length + value.length;
  return 2 * chars + 64;
}
