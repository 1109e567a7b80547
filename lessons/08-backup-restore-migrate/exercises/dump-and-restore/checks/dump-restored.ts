import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(
  async (s) => {
    const db = await s.container("shop-db2");
    if (!db) return fail("There is no container named shop-db2 yet.");
    const data = db.mounts.find((m) => m.target === "/var/lib/postgresql/data");
    if (data?.type !== "volume" || data.source !== "shop-data2")
      return fail(
        "shop-db2 must keep its data in the new volume shop-data2, mounted at /var/lib/postgresql/data.",
      );
    if (!db.running) return fail("shop-db2 is not running: docker logs shop-db2 says why.");
    // Restored, not copied: no container that wrote into shop-data2 had shop-data mounted too.
    const source = new Set((await s.volumeUses("shop-data")).map((u) => u.containerId));
    if ((await s.volumeUses("shop-data2")).some((u) => !u.readOnly && source.has(u.containerId)))
      return fail(
        "shop-data2 was filled by copying shop-data's files: that is not a restore from your dump. Remove shop-db2 and shop-data2 and restore ~/shop.dump with pg_restore.",
      );
    const q = await s.exec("shop-db2", [
      "psql",
      "-U",
      "postgres",
      "-d",
      "shop",
      "-tAc",
      "SELECT string_agg(item, ',' ORDER BY item) FROM orders",
    ]);
    if (q.exitCode !== 0)
      return fail(
        `shop-db2 has no shop database with the orders table yet (${q.stderr.trim().split("\n")[0]}): docker exec -i shop-db2 pg_restore -U postgres --create -d postgres < ~/shop.dump.`,
      );
    if (q.stdout.trim() !== "cups,kettle,teapot")
      return fail(
        `shop-db2's orders hold ${q.stdout.trim() || "nothing"}, not the three orders of shop-db.`,
      );
    const restore = await s.history({ type: "container", name: "shop-db2" });
    if (!restore.some((e) => e.action.startsWith("exec_start") && /pg_restore|psql/.test(e.action)))
      return fail(
        "The orders are in shop-db2, but not through pg_restore: restore the dump with docker exec -i shop-db2 pg_restore ... < ~/shop.dump.",
      );
    return pass("shop-db2 holds the three orders, restored from your dump into its own volume.");
  },
  { timeout: 15 },
);
