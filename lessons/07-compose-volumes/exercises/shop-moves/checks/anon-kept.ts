import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";
import { recreations, requireService } from "../project.ts";

// From the history: a worker that Compose recreated mounted, at /cache, the very anonymous volume
// of the worker it replaced. A restart keeps the container (and so the volume) and proves
// nothing; down + up gives a new container a new, empty anonymous volume.
export default defineCheck(async (s) => {
  await requireService(s, "worker");
  const history = await s.history();
  const cacheVolume = (containerId: string) =>
    history.find(
      (e) =>
        e.type === "volume" &&
        e.action === "mount" &&
        e.attributes.container === containerId &&
        e.attributes.destination === "/cache",
    )?.name;
  const recreated = recreations(history, "worker");
  for (const r of recreated) {
    const volume = cacheVolume(r.oldId);
    if (volume && volume === cacheVolume(r.newId))
      return pass(
        `The recreated worker got the anonymous volume of the one it replaced (${volume.slice(0, 12)}…): its starts.txt has a line for each.`,
      );
  }
  if (recreated.length > 0)
    return fail(
      "worker was recreated with -V, which gives it a fresh anonymous volume: first recreate it without -V (docker compose up -d --force-recreate worker) to see the volume carried over.",
    );
  const workers = history.filter(
    (e) => e.type === "container" && e.action === "create" && e.name === "shop-worker-1",
  );
  const removed = workers.some((w) =>
    history.some((e) => e.type === "container" && e.action === "destroy" && e.id === w.id),
  );
  if (removed)
    return fail(
      "worker was removed and created again (docker compose down and up, or rm), so the new one got a new, empty anonymous volume: let compose recreate it with docker compose up -d --force-recreate worker.",
    );
  const starts = history.filter(
    (e) => e.type === "container" && e.action === "start" && e.name === "shop-worker-1",
  );
  if (starts.length > workers.length)
    return fail(
      "worker was restarted, which keeps the same container: recreate it with docker compose up -d --force-recreate worker, and look at /cache/starts.txt again.",
    );
  return fail(
    "Recreate worker with docker compose up -d --force-recreate worker, then read /cache/starts.txt in the new one.",
  );
});
