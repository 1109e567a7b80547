import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";
import { composeConfig, requireService, requireUpToDate } from "../project.ts";

const TARGET = "/usr/share/nginx/html/assets";
const VOLUME = "assets-2026-12-01";

export default defineCheck(
  async (s) => {
    const web = await requireService(s, "web");
    const mount = web.mounts.find((m) => m.target === TARGET);
    if (!mount) return fail(`web has nothing mounted at ${TARGET} yet.`);
    if (mount.type !== "volume" || mount.source !== VOLUME)
      return fail(
        `web mounts ${mount.source || mount.type} at ${TARGET}, not the volume ${VOLUME}.`,
      );
    if (!mount.readOnly)
      return fail(`web mounts ${VOLUME} read-write: add read_only: true (or :ro).`);
    const config = await composeConfig(s);
    const declared = config?.volumes?.assets;
    if (declared?.name !== VOLUME)
      return fail(
        `Declare the volume under the key assets, with name: ${VOLUME} (the key is what services use; name: is the volume's real name).`,
      );
    if (declared.external !== true)
      return fail(
        `assets is not external: compose counts ${VOLUME} as the project's own, and docker compose down -v would delete your backup. Add external: true.`,
      );
    await requireUpToDate(s, web, "web");
    return pass();
  },
  { timeout: 15 },
);
