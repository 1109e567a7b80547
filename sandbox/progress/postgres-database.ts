import pg from "pg";
import { PlatformDatabaseError, type Database, type Queryable, type SqlValue } from "./database.ts";

/** `?` placeholders as PostgreSQL's $1, $2, ... (no statement here has a literal `?`). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function over(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    all: async <T>(sql: string, params: readonly SqlValue[] = []) =>
      (await client.query(numbered(sql), [...params])).rows as T[],
    get: async <T>(sql: string, params: readonly SqlValue[] = []) =>
      (await client.query(numbered(sql), [...params])).rows[0] as T | undefined,
    run: async (sql, params = []) => (await client.query(numbered(sql), [...params])).rowCount ?? 0,
    exec: async (sql) => {
      await client.query(sql);
    },
  };
}

/**
 * PostgreSQL through a `pg` pool (STOWAGE_DATABASE_URL). `onError` hears a pooled connection that
 * broke while idle (the database restarted): the pool replaces it, the server keeps running.
 */
export async function openPostgresDatabase(
  url: string,
  onError: (error: Error) => void,
): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 10_000 });
  pool.on("error", onError);
  // Fail at start with the server's reason (wrong password, no such database), not at the first request.
  await pool.query("SELECT 1").catch(async (error: Error) => {
    await pool.end();
    throw new PlatformDatabaseError(
      `the PostgreSQL database (STOWAGE_DATABASE_URL) cannot be used: ${error.message}`,
    );
  });
  return {
    dialect: "postgres",
    ...over(pool),
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await work(over(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
