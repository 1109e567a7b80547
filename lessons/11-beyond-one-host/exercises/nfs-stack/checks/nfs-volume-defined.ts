import { parse } from "yaml";
import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

/* eslint-disable @typescript-eslint/no-explicit-any -- compose's output, read defensively */
// Compose itself reads the file (v1 or v2: `config` prints the normalised file), so the check
// sees what Compose understands, not what the student typed.
export default defineCheck(
  async (s) => {
    const exists = await s.sh(
      "test -f ~/nfs-stack/compose.yaml || test -f ~/nfs-stack/docker-compose.yml || test -f ~/nfs-stack/docker-compose.yaml",
    );
    if (exists.exitCode !== 0) return fail("There is no ~/nfs-stack/compose.yaml yet.");
    const config = await s.sh("cd ~/nfs-stack && docker compose config 2>&1");
    if (config.exitCode !== 0)
      return fail(
        `docker compose config refuses the file: ${config.stdout.trim().split("\n").slice(-2).join(" ")}`,
      );
    let doc: any;
    try {
      doc = parse(config.stdout);
    } catch {
      return fail(
        "docker compose config printed something that is not YAML; run it yourself and read the message.",
      );
    }
    const volume = doc?.volumes?.["app-data"];
    if (!volume) return fail("The file declares no volume app-data under the top-level volumes:.");
    if ((volume.driver ?? "local") !== "local")
      return fail(
        `app-data uses the driver ${volume.driver}: use the built-in local driver, with NFS options.`,
      );
    const opts = volume.driver_opts ?? {};
    if (opts.type !== "nfs")
      return fail(
        "app-data has no driver_opts type: nfs, so it would be an ordinary folder on one host.",
      );
    if (!/(^|,)addr=10\.0\.0\.5(,|$)/.test(String(opts.o ?? "")))
      return fail(
        "app-data's driver_opts o: must name the NFS server: addr=10.0.0.5 (plus options such as rw,nfsvers=4).",
      );
    if (String(opts.device ?? "") !== ":/exports/app-data")
      return fail(
        'app-data\'s driver_opts device: must be the export, written ":/exports/app-data" (with the colon).',
      );
    const app = doc?.services?.app;
    if (!app) return fail("There is no service app.");
    const mounts: any[] = app.volumes ?? [];
    const mounted = mounts.some((m) =>
      typeof m === "string"
        ? /^app-data:\/data(:|$)/.test(m)
        : m?.source === "app-data" && m?.target === "/data",
    );
    if (!mounted) return fail("The service app does not mount app-data at /data.");
    return pass();
  },
  { timeout: 15 },
);
