/**
 * The containers checks create to read a volume (checks/engine-files.ts), remembered for a
 * while so that their events are never shown as the student's: the proxy's `docker events`,
 * the session's history and the automatic re-checks all leave them out.
 */

/** Container ids of the readers that exist or existed lately: their volume events are not the student's. */
export const readers = new Set<string>();

/** Engine volume name -> when readers for it were being created: the engine says "volume create" for an existing volume a container mounts. */
export const readerCreations = new Map<string, { from: number; to: number }[]>();

export function isCheckReader(containerId: string | undefined): boolean {
  return containerId !== undefined && readers.has(containerId);
}

/** True for a volume event that a check's reader caused (its mount, or the "create" the engine reports when the reader is made). */
export function isCheckReaderEvent(event: {
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}): boolean {
  if (isCheckReader(event.Actor.Attributes?.container)) return true;
  if (event.Action !== "create") return false;
  const at = event.timeNano ? event.timeNano / 1e6 : (event.time ?? 0) * 1000;
  return (readerCreations.get(event.Actor.ID) ?? []).some(
    (w) => at >= w.from - 5 && at <= w.to + 5,
  );
}
