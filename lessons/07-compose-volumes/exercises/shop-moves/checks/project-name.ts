import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";
import { FOLDER, composeConfig, requireService } from "../project.ts";

// The project's name must come from the file (not -p, which names it for one command), and the
// worker must be back on the volume the project made when it lived in ~/shop.
export default defineCheck(
  async (s) => {
    const worker = await requireService(s, "worker");
    const config = await composeConfig(s);
    if (config?.name !== "shop")
      return fail(
        `worker runs as the project shop, but compose.yaml does not say so (compose calls it ${String(config?.name)} when no -p is typed): put name: shop at the top of ${FOLDER}/compose.yaml.`,
      );
    const file = worker.labels["com.docker.compose.project.config_files"] ?? "";
    const named = await s.sh(
      `grep -Eq '^name:[[:space:]]*["'"'"']?shop["'"'"']?[[:space:]]*(#.*)?$' ${FOLDER}/compose.yaml`,
    );
    if (file !== "/home/student/shop-2026/compose.yaml" || named.exitCode !== 0)
      return fail(
        `The name shop must be the top-level name: of ${FOLDER}/compose.yaml (the file worker was started from is ${file || "unknown"}).`,
      );
    const data = worker.mounts.find((m) => m.target === "/data");
    if (data?.type !== "volume" || data.source !== "shop_db")
      return fail(
        `worker mounts ${data ? data.source || data.type : "nothing"} at /data, not the old volume shop_db: keep - db:/data under worker, with name: shop compose finds shop_db.`,
      );
    if (!worker.running)
      return fail("worker has shop_db again but is not running: docker compose up -d.");
    return pass("worker is back on shop_db: docker compose exec worker cat /data/orders.txt.");
  },
  { timeout: 15 },
);
