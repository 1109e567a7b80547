import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(async (s) => {
  const notes = await s.container("notes");
  if (!notes) return fail("There is no container named notes: start it first.");
  const db = notes.mounts.find((m) => m.type === "volume" && m.source === "notes-db");
  if (!db) return fail("notes does not mount the volume notes-db: do the first task first.");
  if (!notes.running) return fail("notes is not running: docker start notes.");
  // Asked of the app's own database, inside the running notes container (nothing is started).
  const q = await s.exec("notes", [
    "sqlite3",
    `${db.target}/app.db`,
    "SELECT count(*) FROM entries",
  ]);
  if (!(Number(q.stdout.trim()) >= 1))
    return fail(
      "The volume notes-db holds no notes yet: add one with curl http://notes:8000/entries -d text='first note'.",
    );
  const uploads = await s.listFiles({ volume: "notes-uploads", path: "/" });
  if (!uploads?.some((f) => f.type === "file"))
    return fail(
      "There are notes in notes-db, but no file in notes-uploads yet: upload one with curl http://notes:8000/upload -F file=@hello.txt.",
    );
  return pass();
});
