import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(async (s) => {
  const web = await s.container("web-nocopy");
  if (!web) return fail("There is no container named web-nocopy yet.");
  const mount = web.mounts.find((m) => m.target === "/usr/share/nginx/html");
  if (mount?.type !== "volume" || mount.source !== "html-nocopy")
    return fail("web-nocopy must mount the named volume html-nocopy at /usr/share/nginx/html.");
  // The parts of docker inspect's answer that say how the volume was mounted.
  const hostConfig = (
    web.raw as {
      HostConfig?: {
        Mounts?: { Target?: string; VolumeOptions?: { NoCopy?: boolean } }[];
        Binds?: string[];
      };
    }
  ).HostConfig;
  const spec = (hostConfig?.Mounts ?? []).find((m) => m.Target === "/usr/share/nginx/html");
  const binds = hostConfig?.Binds ?? [];
  const nocopy =
    spec?.VolumeOptions?.NoCopy === true ||
    binds.some((b) => /:\/usr\/share\/nginx\/html:(.*,)?nocopy/.test(b));
  if (!nocopy)
    return fail(
      "web-nocopy mounts html-nocopy without volume-nocopy: remove both and mount with --mount type=volume,source=html-nocopy,target=/usr/share/nginx/html,volume-nocopy.",
    );
  const files = await s.listFiles({ volume: "html-nocopy", path: "/" });
  if ((files ?? []).some((f) => f.path !== "."))
    return fail(
      "html-nocopy is not empty: something was copied or written into it. Remove web-nocopy and html-nocopy and start again with a new volume.",
    );
  return pass();
});
