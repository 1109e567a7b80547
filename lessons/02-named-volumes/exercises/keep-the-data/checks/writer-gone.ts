import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(async (s) => {
  if (!(await s.volume("app-data")))
    return fail("The volume app-data does not exist: create it first.");
  const greeting = await s.readFile({ volume: "app-data", path: "greeting.txt" });
  if (!greeting?.trim())
    return fail(
      "The volume app-data exists but has no greeting.txt: run writer with -v app-data:/data and write /data/greeting.txt.",
    );
  // writer must have written it through the volume: a use of app-data by a container named writer.
  const uses = await s.volumeUses("app-data");
  const writer = uses.find((u) => u.container === "writer" && !u.readOnly);
  if (!writer)
    return fail(
      "greeting.txt is in app-data, but no container named writer mounted app-data read-write: run writer with -v app-data:/data.",
    );
  if (await s.container("writer"))
    return fail(
      "greeting.txt is in app-data, but the container writer still exists: remove it with docker rm writer.",
    );
  return pass();
});
