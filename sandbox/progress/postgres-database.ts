import pg from "pg";
import {
  DatabaseUnavailableError,
  PlatformDatabaseError,
  type Database,
  type Queryable,
  type SqlValue,
} from "./database.ts";

/** `?` placeholders as PostgreSQL's $1, $2, ... (no statement here has a literal `?`). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * Whether an error means the server is out of reach rather than a statement failed: the socket's
 * errors, pg's own ("Connection terminated", a connect timeout), and PostgreSQL's SQLSTATE classes
 * 08 (connection exception) and 57P01-57P03 (shutting down, or starting and not yet accepting).
 */
function unreachable(error: Error & { code?: string }): boolean {
  const code = error.code ?? "";
  return (
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EPIPE)$/.test(code) ||
    /^08/.test(code) ||
    /^57P0[123]$/.test(code) ||
    /Connection terminated|timeout exceeded when trying to connect|connection error/i.test(
      error.message,
    )
  );
}

const classified = (error: unknown): unknown =>
  error instanceof Error && unreachable(error) ? new DatabaseUnavailableError(error) : error;

function over(client: pg.Pool | pg.PoolClient): Queryable {
  const query = async (sql: string, params: readonly SqlValue[]) => {
    try {
      return await client.query(numbered(sql), [...params]);
    } catch (error) {
      throw classified(error);
    }
  };
  return {
    all: async <T>(sql: string, params: readonly SqlValue[] = []) =>
      (await query(sql, params)).rows as T[],
    get: async <T>(sql: string, params: readonly SqlValue[] = []) =>
      (await query(sql, params)).rows[0] as T | undefined,
    run: async (sql, params = []) => (await query(sql, params)).rowCount ?? 0,
    exec: async (sql) => {
      await query(sql, []);
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
      const client = await pool.connect().catch((error: unknown) => {
        throw classified(error);
      });
      let broken: Error | undefined;
      try {
        await client.query("BEGIN").catch((error: unknown) => {
          throw classified(error);
        });
        const result = await work(over(client));
        await client.query("COMMIT").catch((error: unknown) => {
          throw classified(error);
        });
        return result;
      } catch (error) {
        // A connection that cannot even roll back is dropped from the pool, not handed out again.
        await client.query("ROLLBACK").catch((rollback: Error) => (broken = rollback));
        throw error;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
