/**
 * The first API call of a page: GET /api/progress. A new visitor gets the learner cookie from
 * it, so every other call waits for it (parallel first calls would each get a different cookie).
 * Shared through `globalThis` because pages load more than one bundle.
 */
import type { ProgressSummary } from "../utils/progress.ts";

const KEY = "__stowageProgress";
type Holder = { [KEY]?: Promise<ProgressSummary | undefined> };

export function progressOnce(): Promise<ProgressSummary | undefined> {
  const g = globalThis as Holder;
  g[KEY] ??= fetch("/api/progress", { credentials: "same-origin" })
    .then((r) => (r.ok ? (r.json() as Promise<ProgressSummary>) : undefined))
    .catch(() => undefined);
  return g[KEY];
}

/** Fetches the progress again (after something was recorded). */
export function refreshProgress(): Promise<ProgressSummary | undefined> {
  delete (globalThis as Holder)[KEY];
  return progressOnce();
}
