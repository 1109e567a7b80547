import { defineCheck, fail, pass, treeDifference } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(async (s) => {
  if (!(await s.volume("app-data-copy")))
    return fail("There is no volume named app-data-copy yet.");
  const original = await s.listFiles({ volume: "app-data", path: "/" });
  if (!original)
    return fail("Could not read the volume app-data: restart the exercise to get it back.");
  const copy = (await s.listFiles({ volume: "app-data-copy", path: "/" })) ?? [];
  if (copy.length <= 1)
    return fail(
      "The volume app-data-copy exists but is empty: copy into it with cp -a /from/. /to/.",
    );
  // Copied means volume to volume: one container mounted both.
  const source = new Set((await s.volumeUses("app-data")).map((u) => u.containerId));
  const writers = (await s.volumeUses("app-data-copy")).filter((u) => !u.readOnly);
  if (!writers.some((u) => source.has(u.containerId)))
    return fail(
      "app-data-copy was not filled by one container mounting both app-data and app-data-copy: copy directly with -v app-data:/from -v app-data-copy:/to and cp -a, no archive in between.",
    );
  // Both trees through the engine's archive (nothing started): names, types, numeric owners, modes, content.
  const differs = treeDifference(original, copy);
  if (differs === undefined) return pass();
  return fail(
    `app-data-copy differs from app-data: ${differs}: use cp -a /from/. /to/ so names, owners and modes are kept`,
  );
});
