import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(async (s) => {
  const web = await s.container("web-vol");
  if (!web) return fail("There is no container named web-vol yet.");
  const mount = web.mounts.find((m) => m.target === "/usr/share/nginx/html");
  if (mount?.type !== "volume" || mount.source !== "html-vol")
    return fail("web-vol must mount the named volume html-vol at /usr/share/nginx/html.");
  const files = await s.listFiles({ volume: "html-vol", path: "/" });
  const index = files?.find((f) => f.path === "index.html");
  const errors = files?.find((f) => f.path === "50x.html");
  if (!index || !errors)
    return fail(
      "html-vol does not hold the image's index.html and 50x.html: it was not empty when web-vol first mounted it (remove web-vol and html-vol, and start again with a new volume).",
    );
  // Copied by Docker from the image, not written by hand: the image's page, owner and mode.
  const page = await s.readFile({ volume: "html-vol", path: "index.html" });
  if (!page?.includes("Welcome to nginx") || index.uid !== 0 || index.mode !== 0o644)
    return fail(
      "html-vol's index.html is not the image's own page: let Docker copy it, by mounting a new, empty volume.",
    );
  return pass(
    "Docker copied the image's two pages, with their owners and modes, into the empty volume.",
  );
});
