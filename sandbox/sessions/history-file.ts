/**
 * A session's event history on disk (`events.json` in the session's folder, beside session.json):
 * many checks read the history ("the first doomed was removed", "a container wrote to the
 * volume"), so a restarted server that adopted the session with an empty one failed work the
 * student had done before the restart. Written whole to a temporary name and renamed; read back
 * through a schema (a damaged file is ignored: the history then starts from the engine's replay).
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { HISTORY_LIMITS } from "./event-history.ts";

export const HISTORY_FILE = "events.json";

const SavedEvent = z.object({
  type: z.string().describe("the engine's event type: container, volume, network"),
  action: z.string().describe("the engine's action: create, start, die, destroy, mount..."),
  id: z.string().describe("the object's id, or a volume's name, in the student's names"),
  name: z.string().optional().describe("the object's name as the student knows it"),
  attributes: z
    .record(z.string(), z.string())
    .describe("the attributes the history keeps (event-history.ts keptAttributes)"),
  time: z.number().describe("when the engine acted, in milliseconds"),
});

const SavedHistory = z.object({
  version: z.literal(1).describe("the file's format"),
  lastEventNano: z
    .number()
    .describe("the engine time (ns) of the newest event: replays add newer ones"),
  events: z.array(SavedEvent).max(HISTORY_LIMITS.events).describe("oldest first"),
});

export type SavedHistory = Omit<z.infer<typeof SavedHistory>, "version">;

export async function writeHistoryFile(sessionDir: string, history: SavedHistory): Promise<void> {
  const path = join(sessionDir, HISTORY_FILE);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify({ version: 1, ...history }), { mode: 0o600 });
  await rename(temporary, path);
}

export async function readHistoryFile(sessionDir: string): Promise<SavedHistory | undefined> {
  const text = await readFile(join(sessionDir, HISTORY_FILE), "utf8").catch(() => "");
  if (!text || text.length > 4 * HISTORY_LIMITS.bytes) return undefined;
  try {
    const parsed = SavedHistory.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
