/**
 * What a restarted server needs to adopt a session it did not make (docs/decisions/
 * restarts-keep-sandboxes.md): its owner, its clocks and its workstation, in `session.json` in
 * the session's own folder (`<data>/sessions/<id>/`, root only, 0700; the student sees only its
 * `home/` and `run/`). Labels cannot hold it (a pooled session gets its owner and clocks when it
 * is taken, and labels never change), and the folder goes with the session, so record and
 * objects end together. Written whole to a temporary name and renamed: a crash mid-write leaves
 * the previous record, never half of one.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

export const SESSION_RECORD_FILE = "session.json";
/** The mirrored terminal screen saved by a server that stopped with SIGTERM (redrawn on adoption). */
export const SCREEN_FILE = "screen.txt";

const SessionRecord = z.object({
  version: z.literal(1),
  id: z.string().regex(/^[a-f0-9]{12}$/),
  /** The learner's id (the cookie's value); "" for a ready session in the warm pool. */
  owner: z.string(),
  /** The address it was made for (the per-address cap); "" for a class member's. */
  client: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  lastActiveAt: z.number(),
  workstationId: z.string().optional(),
  /** The engine it runs on, by name (STOWAGE_ENGINES); absent: the default engine. */
  engine: z.string().optional(),
});
export type SessionRecord = z.infer<typeof SessionRecord>;

export async function writeSessionRecord(sessionDir: string, record: SessionRecord): Promise<void> {
  const path = join(sessionDir, SESSION_RECORD_FILE);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(record), { mode: 0o600 });
  await rename(temporary, path);
}

/** The session's record, or undefined when it has none or it does not parse (the session is then not adopted). */
export async function readSessionRecord(sessionDir: string): Promise<SessionRecord | undefined> {
  const text = await readFile(join(sessionDir, SESSION_RECORD_FILE), "utf8").catch(() => "");
  if (!text) return undefined;
  try {
    const parsed = SessionRecord.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
