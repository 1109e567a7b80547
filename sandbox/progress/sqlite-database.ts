import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Database, Queryable, SqlValue } from "./database.ts";

/**
 * The embedded default: one SQLite file through node:sqlite, whose calls are synchronous. They
 * are wrapped in promises and run one after another, so a transaction (which spans several awaits)
 * never has another caller's statement land inside it on the one connection.
 */
export function openSqliteDatabase(path: string): Database & { readonly file: string } {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;");
  const statements = new Map<string, StatementSync>();
  const prepared = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  const direct: Queryable = {
    all: async <T>(sql: string, params: readonly SqlValue[] = []) =>
      prepared(sql).all(...params) as T[],
    get: async <T>(sql: string, params: readonly SqlValue[] = []) =>
      prepared(sql).get(...params) as T | undefined,
    run: async (sql, params = []) => Number(prepared(sql).run(...params).changes),
    exec: async (sql) => db.exec(sql),
  };
  // Every call waits for the one before it (a transaction counts as one call).
  let tail: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const result = tail.then(work);
    tail = result.catch(() => undefined);
    return result;
  };
  return {
    dialect: "sqlite",
    file: path,
    all: (sql, params) => inTurn(() => direct.all(sql, params)),
    get: (sql, params) => inTurn(() => direct.get(sql, params)),
    run: (sql, params) => inTurn(() => direct.run(sql, params)),
    exec: (sql) => inTurn(() => direct.exec(sql)),
    transaction: (work) =>
      inTurn(async () => {
        // IMMEDIATE: the write lock is taken at once, so another process cannot interleave.
        db.exec("BEGIN IMMEDIATE");
        try {
          const result = await work(direct);
          db.exec("COMMIT");
          return result;
        } catch (error) {
          // SQLite may have rolled back itself (a full disk at COMMIT): the first error is the one to tell.
          if (db.isTransaction) db.exec("ROLLBACK");
          throw error;
        }
      }),
    close: () => inTurn(async () => db.close()),
  };
}
