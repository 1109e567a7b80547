import { defineCheck, fail, pass, treeDifference } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(async (s) => {
  if (!(await s.volume("app-data-restored")))
    return fail("There is no volume named app-data-restored yet.");
  const original = await s.listFiles({ volume: "app-data", path: "/" });
  if (!original)
    return fail("Could not read the volume app-data: restart the exercise to get it back.");
  const copy = (await s.listFiles({ volume: "app-data-restored", path: "/" })) ?? [];
  if (copy.length <= 1)
    return fail(
      "The volume app-data-restored exists but is empty: extract the archive into it with tar xzf ... -C /data.",
    );
  // Restored means from the archive: no container that wrote into the new volume had app-data mounted.
  const source = new Set((await s.volumeUses("app-data")).map((u) => u.containerId));
  const writers = (await s.volumeUses("app-data-restored")).filter((u) => !u.readOnly);
  if (writers.some((u) => source.has(u.containerId)))
    return fail(
      "app-data-restored was filled by a container that also mounted app-data: that is a copy. Restore it from ~/app-data.tgz (docker volume rm app-data-restored and start again), the way you would on another machine.",
    );
  // Both trees through the engine's archive (nothing started): names, types, numeric owners, modes, content.
  const differs = treeDifference(original, copy);
  if (differs === undefined) return pass();
  return fail(
    `app-data-restored differs from app-data: ${differs}. Did you extract with -C /data, as root, from an archive made with -C /data . ?`,
  );
});
