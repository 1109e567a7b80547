/**
 * Copies the platform state from one database into another, empty one: how an operator moves from
 * the embedded SQLite file to PostgreSQL (docs/database.md). Both are brought to the newest schema
 * first; the copy is one transaction on the target, so it lands whole or not at all.
 *
 *   STOWAGE_DATABASE_URL=postgres://... node sandbox/progress/copy-store.ts .data/progress.sqlite
 */
import { existsSync } from "node:fs";
import { loadSetting } from "../config.ts";
import type { Database } from "./database.ts";
import { migrate } from "./migrations.ts";
import { openPostgresDatabase } from "./postgres-database.ts";
import { openSqliteDatabase } from "./sqlite-database.ts";

/** Every table of the platform state and its columns (not PostgreSQL's generated rowid), parents first. */
const TABLES: Record<string, readonly string[]> = {
  task_passes: ["learner", "lesson", "exercise", "task", "passed_at"],
  quiz_answers: ["learner", "lesson", "quiz", "answer", "correct", "answered_at"],
  visits: ["learner", "lesson", "first_at", "last_at"],
  task_checks: [
    "learner",
    "lesson",
    "exercise",
    "task",
    "attempts",
    "failures_in_row",
    "last_passed",
    "last_message",
    "last_at",
  ],
  classes: ["code", "name", "seats", "starts_at", "ends_at", "created_at"],
  class_members: ["class", "learner", "member", "name", "joined_at"],
  session_owners: ["session", "instance", "learner", "started_at"],
};

/** Copies every row; refuses a target that already holds state. Returns the rows copied per table. */
export async function copyPlatformState(
  from: Database,
  to: Database,
): Promise<Record<string, number>> {
  await migrate(from);
  await migrate(to);
  const copied: Record<string, number> = {};
  await to.transaction(async (tx) => {
    for (const table of Object.keys(TABLES)) {
      const held = await tx.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table}`);
      if (Number(held?.n) > 0)
        throw new Error(
          `the target database already has rows in ${table}: copy only into an empty database`,
        );
    }
    for (const [table, columns] of Object.entries(TABLES)) {
      // In insertion order, so "last visited" and the class's member order stay as they were.
      const rows = await from.all<Record<string, string | number | null>>(
        `SELECT ${columns.join(", ")} FROM ${table}${from.dialect === "sqlite" ? " ORDER BY rowid" : ""}`,
      );
      const insert = `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;
      for (const row of rows)
        await tx.run(
          insert,
          columns.map((c) => row[c] ?? null),
        );
      copied[table] = rows.length;
    }
  });
  return copied;
}

if (import.meta.main) {
  const file = process.argv[2];
  const url = loadSetting("databaseUrl");
  if (!file || !existsSync(file) || !url) {
    process.stderr.write(
      "usage: STOWAGE_DATABASE_URL=postgres://... node sandbox/progress/copy-store.ts PATH/progress.sqlite\n" +
        "  copies the platform state of a SQLite file into an empty PostgreSQL database\n",
    );
    process.exit(2);
  }
  const from = openSqliteDatabase(file);
  const to = await openPostgresDatabase(url, () => undefined);
  try {
    const copied = await copyPlatformState(from, to);
    for (const [table, n] of Object.entries(copied)) process.stdout.write(`${table}: ${n} rows\n`);
  } catch (error) {
    process.stderr.write(`stowage: ${(error as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await from.close();
    await to.close();
  }
}
