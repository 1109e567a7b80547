/**
 * The platform's database as the stores see it: a few async calls over SQL written once for
 * both backends (SQLite's node:sqlite, the embedded default, and PostgreSQL through `pg`).
 * Statements use `?` placeholders; the PostgreSQL side numbers them ($1, $2, ...).
 */
export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

/** The platform database cannot be used as it is (unreachable, refused, newer than this server): the operator's to fix. */
export class PlatformDatabaseError extends Error {}

/** The database server stopped answering while the platform runs (restarting, network down): a request's to retry. */
export class DatabaseUnavailableError extends Error {
  constructor(cause: Error) {
    super(`the platform database is not answering: ${cause.message}`, { cause });
  }
}

export interface Queryable {
  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs one statement; returns how many rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Runs a script of statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly dialect: "sqlite" | "postgres";
  /**
   * Runs `work` in one transaction, committed when it resolves, rolled back when it throws.
   * Inside, use only `tx`: the database itself waits for the transaction to end (SQLite has
   * one connection), so a call on it from inside would never return.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Messages between the servers sharing the database (PostgreSQL's LISTEN/NOTIFY); absent on
   * SQLite, whose file has one server. `listen` hears every server's messages, its own included.
   */
  readonly channel?: {
    notify(channel: string, payload: string): Promise<void>;
    listen(channel: string, onMessage: (payload: string) => void): void;
  };
  close(): Promise<void>;
}
