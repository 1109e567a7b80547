import { PlatformDatabaseError, type Database, type Queryable } from "./database.ts";
import { publicLearnerId } from "./store.ts";

/**
 * Schema versions of the platform database, applied in order, one transaction each, and never
 * edited once released: a database made by an older server is brought up to date on open. The
 * two backends share the version numbers; SQLite records the version in its user_version,
 * PostgreSQL in the table schema_version.
 *
 * PostgreSQL has no implicit rowid, so its tables ordered by insertion get an identity column
 * of that name: the queries order by `rowid` on both.
 */
type Step = string | ((tx: Queryable) => Promise<void>);
interface Migration {
  sqlite: Step;
  postgres: Step;
}

const noop: Step = async () => undefined;

export const MIGRATIONS: readonly Migration[] = [
  // 1: progress. IF NOT EXISTS: SQLite files from before versioning had it at user_version 0.
  {
    sqlite: `
CREATE TABLE IF NOT EXISTS task_passes (
  learner TEXT NOT NULL, lesson TEXT NOT NULL, exercise TEXT NOT NULL, task TEXT NOT NULL,
  passed_at TEXT NOT NULL,
  PRIMARY KEY (learner, lesson, exercise, task)
);
CREATE TABLE IF NOT EXISTS quiz_answers (
  learner TEXT NOT NULL, lesson TEXT NOT NULL, quiz TEXT NOT NULL,
  answer INTEGER NOT NULL, correct INTEGER NOT NULL, answered_at TEXT NOT NULL,
  PRIMARY KEY (learner, lesson, quiz)
);
CREATE TABLE IF NOT EXISTS visits (
  learner TEXT NOT NULL, lesson TEXT NOT NULL, first_at TEXT NOT NULL, last_at TEXT NOT NULL,
  PRIMARY KEY (learner, lesson)
);
CREATE INDEX IF NOT EXISTS visits_last ON visits (learner, last_at);
`,
    postgres: `
CREATE TABLE task_passes (
  learner TEXT NOT NULL, lesson TEXT NOT NULL, exercise TEXT NOT NULL, task TEXT NOT NULL,
  passed_at TEXT NOT NULL,
  PRIMARY KEY (learner, lesson, exercise, task)
);
CREATE TABLE quiz_answers (
  learner TEXT NOT NULL, lesson TEXT NOT NULL, quiz TEXT NOT NULL,
  answer INTEGER NOT NULL, correct INTEGER NOT NULL, answered_at TEXT NOT NULL,
  PRIMARY KEY (learner, lesson, quiz)
);
CREATE TABLE visits (
  rowid BIGINT GENERATED ALWAYS AS IDENTITY,
  learner TEXT NOT NULL, lesson TEXT NOT NULL, first_at TEXT NOT NULL, last_at TEXT NOT NULL,
  PRIMARY KEY (learner, lesson)
);
CREATE INDEX visits_last ON visits (learner, last_at);
`,
  },
  // 2: learner columns hold public ids; a SQLite file from before held the cookie values.
  // A PostgreSQL database never did (it came later): nothing to do there.
  { sqlite: hashLearnerIds, postgres: noop },
  // 3: attempts and the last failure per task (the dashboard); classes and their members.
  {
    sqlite: `
CREATE TABLE task_checks (
  learner TEXT NOT NULL, lesson TEXT NOT NULL, exercise TEXT NOT NULL, task TEXT NOT NULL,
  attempts INTEGER NOT NULL, failures_in_row INTEGER NOT NULL, last_passed INTEGER NOT NULL,
  last_message TEXT NOT NULL, last_at TEXT NOT NULL,
  PRIMARY KEY (learner, lesson, exercise, task)
);
CREATE TABLE classes (
  code TEXT PRIMARY KEY, name TEXT NOT NULL, seats INTEGER NOT NULL,
  starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE class_members (
  class TEXT NOT NULL REFERENCES classes (code), learner TEXT NOT NULL,
  member TEXT NOT NULL UNIQUE, name TEXT NOT NULL, joined_at TEXT NOT NULL,
  PRIMARY KEY (class, learner)
);
CREATE INDEX class_members_learner ON class_members (learner);
`,
    postgres: `
CREATE TABLE task_checks (
  learner TEXT NOT NULL, lesson TEXT NOT NULL, exercise TEXT NOT NULL, task TEXT NOT NULL,
  attempts INTEGER NOT NULL, failures_in_row INTEGER NOT NULL, last_passed INTEGER NOT NULL,
  last_message TEXT NOT NULL, last_at TEXT NOT NULL,
  PRIMARY KEY (learner, lesson, exercise, task)
);
CREATE TABLE classes (
  code TEXT PRIMARY KEY, name TEXT NOT NULL, seats INTEGER NOT NULL,
  starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE class_members (
  rowid BIGINT GENERATED ALWAYS AS IDENTITY,
  class TEXT NOT NULL REFERENCES classes (code), learner TEXT NOT NULL,
  member TEXT NOT NULL UNIQUE, name TEXT NOT NULL, joined_at TEXT NOT NULL,
  PRIMARY KEY (class, learner)
);
CREATE INDEX class_members_learner ON class_members (learner);
`,
  },
  // 4: which learner (public id) owns which live session, per server instance.
  {
    sqlite: `
CREATE TABLE session_owners (
  session TEXT PRIMARY KEY, instance TEXT NOT NULL, learner TEXT NOT NULL, started_at TEXT NOT NULL
);
CREATE INDEX session_owners_instance ON session_owners (instance, learner);
`,
    postgres: `
CREATE TABLE session_owners (
  session TEXT PRIMARY KEY, instance TEXT NOT NULL, learner TEXT NOT NULL, started_at TEXT NOT NULL
);
CREATE INDEX session_owners_instance ON session_owners (instance, learner);
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

function tooNew(version: number): Error {
  return new PlatformDatabaseError(
    `the platform database is at schema version ${version}, newer than this server's ${SCHEMA_VERSION}: run a newer server`,
  );
}

async function apply(tx: Queryable, step: Step): Promise<void> {
  if (typeof step === "string") await tx.exec(step);
  else await step(tx);
}

/** Brings the database to the newest schema version; returns the version it is at. */
export async function migrate(db: Database): Promise<number> {
  return db.dialect === "sqlite" ? migrateSqlite(db) : migratePostgres(db);
}

async function migrateSqlite(db: Database): Promise<number> {
  const version = Number(
    (await db.get<{ user_version: number }>("PRAGMA user_version"))!.user_version,
  );
  if (version > SCHEMA_VERSION) throw tooNew(version);
  for (let v = version; v < SCHEMA_VERSION; v++)
    await db.transaction(async (tx) => {
      await apply(tx, MIGRATIONS[v]!.sqlite);
      await tx.exec(`PRAGMA user_version = ${v + 1}`);
    });
  return SCHEMA_VERSION;
}

/** One transaction per version under an advisory lock: two servers starting at once migrate once. */
async function migratePostgres(db: Database): Promise<number> {
  for (;;) {
    const done = await db.transaction(async (tx) => {
      // The key is arbitrary; it only has to be the same for every Stowage server. Taken before
      // anything else: even CREATE TABLE IF NOT EXISTS fails when two servers run it at once.
      await tx.exec("SELECT pg_advisory_xact_lock(7305531)");
      await tx.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
      const row = await tx.get<{ version: number }>("SELECT version FROM schema_version");
      const version = row ? Number(row.version) : 0;
      if (version > SCHEMA_VERSION) throw tooNew(version);
      if (version === SCHEMA_VERSION) return true;
      await apply(tx, MIGRATIONS[version]!.postgres);
      if (row) await tx.run("UPDATE schema_version SET version = ?", [version + 1]);
      else await tx.run("INSERT INTO schema_version (version) VALUES (?)", [version + 1]);
      return false;
    });
    if (done) return SCHEMA_VERSION;
  }
}

/** Migration 2 (SQLite): the cookie values in learner columns become public ids (hashed in place). */
async function hashLearnerIds(tx: Queryable): Promise<void> {
  for (const table of ["task_passes", "quiz_answers", "visits"]) {
    for (const { learner } of await tx.all<{ learner: string }>(
      `SELECT DISTINCT learner FROM ${table}`,
    ))
      await tx.run(`UPDATE ${table} SET learner = ? WHERE learner = ?`, [
        publicLearnerId(learner),
        learner,
      ]);
  }
}

/** The schema version the database is at now (0 for a new one). */
export async function schemaVersionOf(db: Database): Promise<number> {
  if (db.dialect === "sqlite")
    return Number((await db.get<{ user_version: number }>("PRAGMA user_version"))!.user_version);
  const table = await db.get<{ found: string | null }>(
    "SELECT to_regclass('schema_version')::text AS found",
  );
  if (!table?.found) return 0;
  return Number(
    (await db.get<{ version: number }>("SELECT version FROM schema_version"))?.version ?? 0,
  );
}
