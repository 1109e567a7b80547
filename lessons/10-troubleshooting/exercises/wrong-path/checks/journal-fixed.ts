import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(async (s) => {
  const journal = await s.container("journal");
  if (!journal)
    return fail(
      "There is no container named journal right now: run it again with -v journal-data:/data.",
    );
  const mount = journal.mounts.find((m) => m.type === "volume" && m.source === "journal-data");
  if (!mount)
    return fail(
      "journal does not mount journal-data at all: recreate it with -v journal-data:/data.",
    );
  if (mount.target !== "/data")
    return fail(
      `journal mounts journal-data at ${mount.target}, but it writes to /data/journal.txt: recreate it with -v journal-data:/data.`,
    );
  if (!journal.running)
    return fail(
      "journal is mounted right but not running: reuse its original command (docker logs journal shows what went wrong).",
    );
  if (!journal.image.startsWith("busybox"))
    return fail(`journal now runs ${journal.image}: recreate it from the same image, busybox.`);
  const command = journal.command.join(" ");
  if (!command.includes("while true") || !command.includes(">> /data/journal.txt"))
    return fail(
      "journal runs another command than before: reuse the original one (docker inspect --format '{{json .Config.Cmd}}' showed it).",
    );
  const text = await s.readFile({ volume: "journal-data", path: "journal.txt" });
  if (!text?.includes("all quiet"))
    return fail(
      "journal-data is mounted at /data, but journal.txt has not appeared in it yet: is journal running its original command?",
    );
  return pass();
});
