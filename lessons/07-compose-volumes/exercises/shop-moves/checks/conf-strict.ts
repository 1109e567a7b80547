import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";
import { binds, requestedMounts, requireService, requireUpToDate } from "../project.ts";

const TARGET = "/etc/nginx/conf.d";

// Compose passes a bind with create_host_path (the short syntax's default) as a -v style bind,
// which creates a missing folder; without it, as a mount that the engine refuses when the folder
// is missing. The container's HostConfig shows which one it got.
export default defineCheck(
  async (s) => {
    const web = await requireService(s, "web");
    const mount = web.mounts.find((m) => m.target === TARGET);
    if (!mount) return fail(`web has nothing mounted at ${TARGET} yet: bind ./conf.d there.`);
    if (mount.type !== "bind" || mount.source !== "/home/student/shop-2026/conf.d")
      return fail(
        `web must bind the project's ./conf.d at ${TARGET}; it mounts ${mount.source || mount.type} there.`,
      );
    if (!mount.readOnly) return fail("web mounts ./conf.d read-write: add read_only: true.");
    if (binds(web).some((b) => b.split(":")[1] === TARGET))
      return fail(
        "./conf.d is mounted the short way, with create_host_path on: a typo in the path would quietly give nginx a new, empty folder. Use the long syntax with bind: create_host_path: false.",
      );
    if (!requestedMounts(web).some((m) => m.Type === "bind" && m.Target === TARGET))
      return fail(
        `web's mount of ${TARGET} is not in its mounts; recreate it with docker compose up -d.`,
      );
    await requireUpToDate(s, web, "web");
    if (!web.running)
      return fail("web has its mounts but is not running: docker compose logs web says why.");
    return pass();
  },
  { timeout: 15 },
);
