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
 * LISTEN on one connection of its own (a pooled one would be handed to others), made on the first
 * listen and made again a second after it breaks (the database restarted), listening again.
 */
function listener(url: string, onError: (error: Error) => void) {
  const handlers = new Map<string, Set<(payload: string) => void>>();
  let current: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  const again = (client: pg.Client) => {
    if (client !== current) return; // an old connection's late event
    current = undefined;
    client.end().catch(() => undefined);
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect();
    }, 1000);
    retry.unref();
  };
  const connect = () => {
    if (closed) return;
    const client = (current = new pg.Client({ connectionString: url }));
    client.on("notification", (message) => {
      for (const handler of handlers.get(message.channel) ?? []) handler(message.payload ?? "");
    });
    client.on("error", (error) => {
      onError(error);
      again(client);
    });
    client.on("end", () => again(client));
    void (async () => {
      await client.connect();
      for (const channel of handlers.keys()) await client.query(`LISTEN ${channel}`);
    })().catch(() => again(client));
  };
  return {
    listen(channel: string, onMessage: (payload: string) => void) {
      if (!/^[a-z_]+$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
      const known = handlers.get(channel);
      if (known) return void known.add(onMessage);
      handlers.set(channel, new Set([onMessage]));
      // A connection on its way queues the LISTEN until it is up (LISTEN twice is harmless).
      if (!current) connect();
      else void current.query(`LISTEN ${channel}`).catch(() => undefined);
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const client = current;
      current = undefined;
      await client?.end().catch(() => undefined);
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
  const channels = listener(url, onError);
  return {
    dialect: "postgres",
    ...over(pool),
    channel: {
      async notify(channel, payload) {
        await pool.query("SELECT pg_notify($1, $2)", [channel, payload]);
      },
      listen: channels.listen,
    },
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
    async close() {
      await channels.close();
      await pool.end();
    },
  };
}
