import { join } from "node:path";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { openPostgresDatabase } from "./postgres-database.ts";
import { openProgressStore } from "./progress-store.ts";
import { openSqliteDatabase } from "./sqlite-database.ts";
import type { ProgressStore } from "./store.ts";

/**
 * The platform database the configuration names: PostgreSQL when STOWAGE_DATABASE_URL is set,
 * else the embedded SQLite file progress.sqlite in the data folder. Migrated on open.
 */
export async function openPlatformStore(
  config: Pick<Config, "databaseUrl" | "dataDir">,
  log: Logger,
): Promise<ProgressStore> {
  const db = config.databaseUrl
    ? await openPostgresDatabase(config.databaseUrl, (error) =>
        log.warn({ err: error.message }, "a PostgreSQL connection broke; the pool opens another"),
      )
    : openSqliteDatabase(join(config.dataDir, "progress.sqlite"));
  try {
    return await openProgressStore(db);
  } catch (error) {
    await db.close();
    throw error;
  }
}
