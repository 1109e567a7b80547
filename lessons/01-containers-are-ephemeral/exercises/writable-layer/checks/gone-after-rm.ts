import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

// The point is removing the container: the history must show the first doomed destroyed and a
// new one made after it (deleting the file with docker exec teaches nothing about the layer).
export default defineCheck(async (s) => {
  const doomed = await s.container("doomed");
  if (!doomed)
    return fail(
      "There is no container named doomed right now: after removing it, run a new one with docker run -d --name doomed debian:bookworm-slim sleep infinity.",
    );
  const created = await s.history({ type: "container", action: "create", name: "doomed" });
  const first = created[0];
  if (!first || first.id === doomed.id)
    return fail(
      "doomed is still the container you were given: remove it with docker rm -f doomed and run a new one (deleting the file inside it does not show what removal does).",
    );
  const destroyed = await s.history({ type: "container", action: "destroy", name: "doomed" });
  if (!destroyed.some((e) => e.id === first.id))
    return fail("The first doomed was never removed: docker rm -f doomed, then run a new one.");
  if (!doomed.image.startsWith("debian"))
    return fail(
      `The new doomed runs ${doomed.image}: run it from the same image, debian:bookworm-slim, so only the writable layer differs.`,
    );
  if (!doomed.running)
    return fail(
      "The new doomed exists but is not running: start it (or remove it and run it with sleep infinity).",
    );
  const file = await s.readFile({ container: "doomed", path: "/data/important.txt" });
  if (file !== undefined)
    return fail(
      "The new doomed has /data/important.txt: it was put back by hand. Remove doomed and run a fresh one from the image.",
    );
  return pass(
    "A fresh doomed from the same image has no /data/important.txt: the writable layer went with the old container.",
  );
});
