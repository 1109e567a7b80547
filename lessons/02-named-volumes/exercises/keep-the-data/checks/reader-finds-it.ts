import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(async (s) => {
  const reader = await s.container("reader");
  if (!reader) return fail("There is no container named reader yet.");
  if (!reader.running)
    return fail(
      "reader exists but is not running: give it a long-running command such as sleep 3600.",
    );
  if (
    !reader.mounts.some(
      (m) => m.type === "volume" && m.source === "app-data" && m.target === "/data",
    )
  )
    return fail(
      "reader is running, but app-data is not mounted at /data in it (docker inspect reader shows its Mounts).",
    );
  // -v and --mount end up in different fields: the task is to write the long form once. A
  // volume-subpath would show reader a folder of app-data at /data, not the volume itself.
  const long = (
    (reader.raw.HostConfig as { Mounts?: unknown } | undefined)?.Mounts as
      { Target?: string; Source?: string; VolumeOptions?: { Subpath?: string } }[] | undefined
  )?.find((m) => m.Target === "/data" && m.Source === "app-data");
  // What reader sees at /data is app-data itself: its greeting.txt, read through the engine
  // (nothing is started or run in reader).
  const greeting = long?.VolumeOptions?.Subpath
    ? undefined
    : await s.readBytes({ volume: "app-data", path: "greeting.txt" });
  if (!greeting?.length)
    return fail(
      "reader mounts app-data at /data, but /data/greeting.txt is not there: write it with the writer container first.",
    );
  if (!long)
    return fail(
      "reader mounts app-data with -v: this task is about the long form, --mount type=volume,source=app-data,target=/data. Remove reader and run it again that way.",
    );
  return pass();
});
