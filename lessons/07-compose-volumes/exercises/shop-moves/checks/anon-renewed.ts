import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";
import { recreations, requireService } from "../project.ts";

// The worker running now was made by a Compose recreate (not down + up), and its anonymous
// volume at /cache is one no earlier container mounted: -V renewed it.
export default defineCheck(async (s) => {
  const worker = await requireService(s, "worker");
  const cache = worker.mounts.find((m) => m.target === "/cache");
  if (cache?.type !== "volume")
    return fail("worker has no volume at /cache: keep - /cache under worker in compose.yaml.");
  const volume = await s.volume(cache.source);
  if (!volume?.anonymous)
    return fail(
      `worker mounts the named volume ${cache.source} at /cache: keep it an anonymous volume (- /cache), the kind -V renews.`,
    );
  const history = await s.history();
  const earlier = (await s.volumeUses(cache.source)).filter((u) => u.containerId !== worker.id);
  const recreated = recreations(history, "worker").some((r) => r.newId === worker.id);
  if (recreated && earlier.length > 0)
    return fail(
      "The worker running now was recreated with the anonymous volume of the one before: add -V (--renew-anon-volumes): docker compose up -d --force-recreate -V worker.",
    );
  if (recreated) return pass("worker was recreated with a fresh anonymous volume at /cache.");
  const removedBefore = history.some(
    (e) =>
      e.type === "container" &&
      e.action === "destroy" &&
      e.name === "shop-worker-1" &&
      e.id !== worker.id,
  );
  if (removedBefore)
    return fail(
      "worker has a new anonymous volume because it was removed and created again, which leaves the old one behind, dangling: let compose renew it on a recreate, docker compose up -d --force-recreate -V worker.",
    );
  return fail(
    "The worker running now is still the first one: renew its anonymous volume with docker compose up -d --force-recreate -V worker.",
  );
});
