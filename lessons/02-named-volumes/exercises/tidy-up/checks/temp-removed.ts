import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(async (s) => {
  if (!(await s.volume("reports")))
    return fail(
      "The named volume reports is gone, and q3.txt with it: docker rm -v never removes named volumes, so it was removed with docker volume rm or prune. Restart the exercise to get it back.",
    );
  if (await s.container("temp"))
    return fail("The container temp still exists: remove it with docker rm -f -v temp.");
  // temp's anonymous volume: the one it mounted at /scratch, from the history.
  const mounts = await s.history({ type: "volume", action: "mount", container: "temp" });
  const scratch = mounts.find((e) => e.attributes.destination === "/scratch");
  if (scratch && (await s.volume(scratch.id)))
    return fail(
      `temp is gone, but its anonymous volume ${scratch.id} was left behind: next time use docker rm -v; now remove it with docker volume rm ${scratch.id}.`,
    );
  if ((await s.readFile({ volume: "reports", path: "q3.txt" })) === undefined)
    return fail("The volume reports still exists, but q3.txt is no longer in it.");
  return pass();
});
