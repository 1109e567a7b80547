/**
 * Who the kernel's OOM killer takes first, should the host run out of memory: a student's
 * process, then this server, and the shared engine last. The usual way, the engine's own
 * `oom_score_adj` of -500 (dockerd's default `--oom-score-adjust`), needs CAP_SYS_RESOURCE to
 * lower a score, and this host withholds it from every process (the VM's init bounding set):
 * dockerd runs at 0, and `echo -500 > /proc/$(pidof dockerd)/oom_score_adj` as root is refused.
 * Raising a score needs no capability, so the order is made from above instead: every student
 * process at LIMITS.oomScoreAdjFloor (500; proxy/limits.ts, session-manager.ts) and the server here.
 * The score only orders processes of similar size: the kernel adds each one's share of memory
 * (per mille), so an engine bloated past half the host would still be taken first; that growth
 * is what bounds.ts and the proxy's request budget prevent. Measured figures: docs/hardening.md.
 */
import { readFile, writeFile } from "node:fs/promises";

/** Between the engine (0) and the students (500 and up). */
export const SERVER_OOM_SCORE_ADJ = 250;

/** Raises this process's score to SERVER_OOM_SCORE_ADJ (never lowers it); returns the score now. */
export async function putServerBeforeEngine(
  path = "/proc/self/oom_score_adj",
): Promise<number | undefined> {
  const now = Number((await readFile(path, "utf8").catch(() => "")).trim());
  if (!Number.isFinite(now)) return undefined;
  if (now >= SERVER_OOM_SCORE_ADJ) return now;
  await writeFile(path, String(SERVER_OOM_SCORE_ADJ)).catch(() => undefined);
  return Number((await readFile(path, "utf8").catch(() => String(now))).trim());
}
