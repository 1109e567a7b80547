import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";
import { requestedMounts, requireService, requireUpToDate } from "../project.ts";

const TARGET = "/usr/share/nginx/html";

// Both the request (nocopy in the container's mount) and its effect (nginx's own pages are not
// in the volume): deleting the copied pages by hand leaves the first wrong, a volume filled
// before nocopy was set leaves the second wrong.
export default defineCheck(
  async (s) => {
    const web = await requireService(s, "web");
    const mount = web.mounts.find((m) => m.target === TARGET);
    if (mount?.type !== "volume" || mount.source !== "shop_pages")
      return fail(
        `web must mount the project's volume pages (shop_pages) at ${TARGET}; it mounts ${mount ? mount.source || mount.type : "nothing"} there.`,
      );
    const requested = requestedMounts(web).find((m) => m.Target === TARGET);
    if (requested?.VolumeOptions?.NoCopy !== true)
      return fail(
        "pages is mounted without nocopy: write it in the long syntax with volume: nocopy: true, so an empty pages stays empty.",
      );
    const copied =
      (await s.readFile({ volume: "shop_pages", path: "50x.html" })) !== undefined ||
      /Welcome to nginx/.test(
        (await s.readFile({ volume: "shop_pages", path: "index.html" })) ?? "",
      );
    if (copied)
      return fail(
        "shop_pages holds nginx's own pages, copied in before nocopy was set: nocopy keeps only an empty volume empty. docker compose down, docker volume rm shop_pages, docker compose up -d.",
      );
    await requireUpToDate(s, web, "web");
    return pass();
  },
  { timeout: 15 },
);
