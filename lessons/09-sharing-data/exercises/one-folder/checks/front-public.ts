import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

const TARGET = "/usr/share/nginx/html";

/** The mount as it was asked for (HostConfig.Mounts): only there does the subpath show. */
interface RequestedMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  VolumeOptions?: { Subpath?: string };
}

export default defineCheck(async (s) => {
  const front = await s.container("front");
  if (!front) return fail("There is no container named front yet.");
  const mount = front.mounts.find((m) => m.target === TARGET);
  if (!mount) return fail(`front has nothing mounted at ${TARGET}: nginx shows its own page.`);
  if (mount.type !== "volume" || mount.source !== "site-data")
    return fail(
      `front mounts ${mount.source || mount.type} at ${TARGET}, not site-data: a copy goes stale, mount the volume itself with volume-subpath=public.`,
    );
  const host = front.raw.HostConfig as { Mounts?: RequestedMount[] } | undefined;
  const requested = (host?.Mounts ?? []).find((m) => m.Target === TARGET);
  const subpath = requested?.VolumeOptions?.Subpath?.replace(/^\.\/|\/+$/g, "");
  if (subpath !== "public")
    return fail(
      subpath
        ? `front mounts the folder ${subpath} of site-data, not public.`
        : `front mounts all of site-data at ${TARGET}, private/ included: mount only its public folder with --mount ...,volume-subpath=public.`,
    );
  if (!mount.readOnly) return fail("front mounts public read-write: add ,readonly to --mount.");
  if (!front.running)
    return fail("front has the right mount but is not running: docker logs front says why.");
  const files = await s.listFiles({ container: "front", path: TARGET });
  if (!files?.some((f) => f.path === "index.html"))
    return fail(`front's ${TARGET} has no index.html: is public still in site-data?`);
  return pass("front serves public/ of site-data, and nothing else of it.");
});
