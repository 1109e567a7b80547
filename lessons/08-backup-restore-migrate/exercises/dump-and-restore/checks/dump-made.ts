import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(
  async (s) => {
    const head = await s.sh("head -c 5 ~/shop.dump 2>/dev/null");
    if (head.exitCode !== 0)
      return fail(
        "There is no ~/shop.dump yet: docker exec shop-db pg_dump -U postgres -Fc shop > ~/shop.dump.",
      );
    if (head.stdout !== "PGDMP")
      return fail(
        "~/shop.dump is not a pg_dump custom-format dump (it does not start with PGDMP): add -Fc, so pg_restore can read it.",
      );
    // Live: the point is that the database kept serving while it was dumped.
    const stops = await s.history({ type: "container", action: "die", name: "shop-db" });
    if (stops.length > 0)
      return fail(
        "shop-db was stopped: pg_dump takes a consistent snapshot of a running database, no downtime needed. Start shop-db again and dump it while it runs.",
      );
    const shopDb = await s.container("shop-db");
    if (!shopDb?.running)
      return fail(
        "shop-db is not running any more: the dump is meant to be taken from the live database.",
      );
    return pass();
  },
  { timeout: 15 },
);
