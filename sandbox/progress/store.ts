import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";

/**
 * Learner progress in one SQLite file (node:sqlite): passed exercise tasks, quiz answers and
 * visited lessons. Survives restarts; safe for one server process.
 *
 * Rows are keyed by the learner's public id (publicLearnerId), never by the cookie value: the
 * cookie is the key to the learner's sandbox, and neither the file nor the instructor view may
 * hold it. The store's callers still pass the cookie's learner id; the store hashes it.
 */

/**
 * The learner's public id: a one-way hash of the secret cookie value, so whoever sees it (the
 * instructor view, a copy of the database) cannot act as the learner. 32 hex digits would look
 * like a cookie: "p-" and 24 hex digits keep the two apart at a glance.
 */
export function publicLearnerId(secretLearnerId: string): string {
  return `p-${createHash("sha256").update(`stowage-learner:${secretLearnerId}`).digest("hex").slice(0, 24)}`;
}

/**
 * One task's check result: what `POST /api/sessions/{id}/checks` answers for each task, and what
 * the store records (its id when it passed). `message` says why a task failed ("" when it passed).
 */
export interface TaskResult {
  id: string;
  passed: boolean;
  message: string;
}

export interface QuizAnswer {
  lesson: string;
  quiz: string;
  answer: number;
  correct: boolean;
}

export interface LearnerProgress {
  lastLesson?: string;
  lessons: Record<
    string,
    {
      visitedAt?: string;
      tasks: Record<string, string>;
      quizzes: Record<string, { answer: number; correct: boolean; answeredAt: string }>;
    }
  >;
}

export interface InstructorRow {
  /** The learner's public id (publicLearnerId): never the cookie. */
  publicId: string;
  lastLesson?: string;
  lastSeenAt?: string;
  /** "lesson/exercise" -> passed task ids. */
  exercises: Record<string, string[]>;
  quizzes: { answered: number; correct: number };
}

export interface ProgressStore {
  /**
   * Records the tasks that passed (failures never undo an earlier pass); returns how many were
   * new. Called by the server's checks route (POST /api/sessions/{id}/checks) with the ids of the
   * tasks whose checks passed, e.g. `recordTasks(learnerId, lesson, exercise, ["volume-exists"])`;
   * a `{id, passed}` result is accepted too (only `passed: true` counts). Browsers cannot record
   * tasks themselves: only a real check does.
   */
  recordTasks(
    learnerId: string,
    lesson: string,
    exercise: string,
    tasks: readonly (string | Pick<TaskResult, "id" | "passed">)[],
  ): number;
  /** Records a quiz answer; the first committed answer is kept (predict-then-reveal). */
  recordQuiz(learnerId: string, answer: QuizAnswer): void;
  recordVisit(learnerId: string, lesson: string): void;
  get(learnerId: string): LearnerProgress;
  listAll(): InstructorRow[];
  /**
   * Records one check run's results per task, for the teacher's dashboard: attempts (check runs
   * until the task first passed), failures in a row, and the last result and message.
   */
  recordAttempts(
    learnerId: string,
    lesson: string,
    exercise: string,
    results: readonly CheckResult[],
  ): void;
  /** Every task a learner has been checked on, with its attempts and last result. */
  taskChecks(publicId: string): TaskCheck[];
  /** Called after a learner's checks or visits are recorded (the class dashboards listen). */
  onLearnerChange(listener: (publicId: string) => void): () => void;
  /** The database, for the modules that keep their own tables in this file (classes/class-store.ts). */
  readonly database: DatabaseSync;
  close(): void;
}

export interface CheckResult {
  id: string;
  passed: boolean;
  message: string;
}

export interface TaskCheck {
  lesson: string;
  exercise: string;
  task: string;
  attempts: number;
  failuresInRow: number;
  lastPassed: boolean;
  lastMessage: string;
  lastAt: string;
  passedAt?: string;
}

/**
 * Schema versions, applied in order and recorded in SQLite's user_version: a database made by an
 * older server is brought up to date on open, and never edited by hand. Version 1 is the original
 * schema (IF NOT EXISTS: databases from before versioning had it at user_version 0).
 */
const MIGRATIONS: readonly (string | ((db: DatabaseSync) => void))[] = [
  `
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
  // 2: learner columns hold public ids; a file from before held the cookie values themselves.
  hashLearnerIds,
  // 3: attempts and the last failure per task (the dashboard); classes and their members.
  `
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
];

/** Brings the database to the newest schema version, one transaction per version. */
function migrate(db: DatabaseSync): void {
  const version = Number(
    (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
  );
  if (version > MIGRATIONS.length)
    throw new Error(
      `the progress database is at schema version ${version}, newer than this server's ${MIGRATIONS.length}: run a newer server`,
    );
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.exec("BEGIN");
    try {
      const migration = MIGRATIONS[v]!;
      if (typeof migration === "string") db.exec(migration);
      else migration(db);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }
}

export function openProgressStore(path: string): ProgressStore {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;");
  migrate(db);
  const listeners = new Set<(publicId: string) => void>();
  const changed = (learnerId: string) => {
    const publicId = publicLearnerId(learnerId);
    for (const listener of listeners) listener(publicId);
  };
  const upsertCheck = db.prepare(
    `INSERT INTO task_checks (learner, lesson, exercise, task, attempts, failures_in_row, last_passed, last_message, last_at)
     VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)
     ON CONFLICT (learner, lesson, exercise, task) DO UPDATE SET
       attempts = attempts + (CASE WHEN EXISTS (SELECT 1 FROM task_passes p WHERE p.learner = excluded.learner AND p.lesson = excluded.lesson AND p.exercise = excluded.exercise AND p.task = excluded.task) THEN 0 ELSE 1 END),
       failures_in_row = CASE WHEN excluded.last_passed = 1 THEN 0 ELSE failures_in_row + 1 END,
       last_passed = excluded.last_passed, last_message = excluded.last_message, last_at = excluded.last_at`,
  );
  const selectChecks = db.prepare(
    `SELECT c.lesson, c.exercise, c.task, c.attempts, c.failures_in_row, c.last_passed, c.last_message, c.last_at, p.passed_at
     FROM task_checks c LEFT JOIN task_passes p USING (learner, lesson, exercise, task) WHERE c.learner = ?`,
  );

  const insertPass = db.prepare(
    "INSERT INTO task_passes (learner, lesson, exercise, task, passed_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
  );
  const insertQuiz = db.prepare(
    "INSERT INTO quiz_answers (learner, lesson, quiz, answer, correct, answered_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
  );
  const upsertVisit = db.prepare(
    "INSERT INTO visits (learner, lesson, first_at, last_at) VALUES (?, ?, ?, ?) ON CONFLICT (learner, lesson) DO UPDATE SET last_at = excluded.last_at",
  );
  const selectPasses = db.prepare(
    "SELECT lesson, exercise, task, passed_at FROM task_passes WHERE learner = ?",
  );
  const selectQuizzes = db.prepare(
    "SELECT lesson, quiz, answer, correct, answered_at FROM quiz_answers WHERE learner = ?",
  );
  const selectVisits = db.prepare(
    "SELECT lesson, first_at, last_at FROM visits WHERE learner = ? ORDER BY last_at DESC, rowid DESC",
  );
  const allPasses = db.prepare(
    "SELECT learner, lesson, exercise, task FROM task_passes ORDER BY lesson, exercise, passed_at",
  );
  const allQuizzes = db.prepare(
    "SELECT learner, COUNT(*) AS answered, SUM(correct) AS correct FROM quiz_answers GROUP BY learner",
  );
  const allVisits = db.prepare(
    "SELECT learner, lesson, last_at FROM visits ORDER BY last_at ASC, rowid ASC",
  );

  // Timestamps strictly increase within a process, so "last visited" is unambiguous.
  let lastStamp = 0;
  const now = () => {
    lastStamp = Math.max(Date.now(), lastStamp + 1);
    return new Date(lastStamp).toISOString();
  };

  return {
    recordTasks(learnerId, lesson, exercise, tasks) {
      const learner = publicLearnerId(learnerId);
      let added = 0;
      const at = now();
      db.exec("BEGIN");
      try {
        for (const t of tasks) {
          const id = typeof t === "string" ? t : t.passed ? t.id : undefined;
          if (id === undefined) continue;
          added += Number(insertPass.run(learner, lesson, exercise, id, at).changes);
        }
        db.exec("COMMIT");
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      }
      if (added > 0) changed(learnerId);
      return added;
    },
    recordAttempts(learnerId, lesson, exercise, results) {
      const at = now();
      db.exec("BEGIN");
      try {
        // A message is kept short: it is shown in a table cell and counted across the class.
        for (const r of results)
          upsertCheck.run(
            publicLearnerId(learnerId),
            lesson,
            exercise,
            r.id,
            r.passed ? 0 : 1,
            r.passed ? 1 : 0,
            r.passed ? "" : r.message.slice(0, 300),
            at,
          );
        db.exec("COMMIT");
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      }
      changed(learnerId);
    },
    taskChecks(publicId) {
      return (selectChecks.all(publicId) as Array<Record<string, string | number | null>>).map(
        (r) => ({
          lesson: String(r.lesson),
          exercise: String(r.exercise),
          task: String(r.task),
          attempts: Number(r.attempts),
          failuresInRow: Number(r.failures_in_row),
          lastPassed: Number(r.last_passed) === 1,
          lastMessage: String(r.last_message),
          lastAt: String(r.last_at),
          ...(r.passed_at ? { passedAt: String(r.passed_at) } : {}),
        }),
      );
    },
    onLearnerChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    database: db,
    recordQuiz(learnerId, a) {
      insertQuiz.run(
        publicLearnerId(learnerId),
        a.lesson,
        a.quiz,
        a.answer,
        a.correct ? 1 : 0,
        now(),
      );
    },
    recordVisit(learnerId, lesson) {
      const at = now();
      upsertVisit.run(publicLearnerId(learnerId), lesson, at, at);
      changed(learnerId);
    },
    get(learnerId) {
      const id = publicLearnerId(learnerId);
      const result: LearnerProgress = { lessons: {} };
      const lessonOf = (id: string) => (result.lessons[id] ??= { tasks: {}, quizzes: {} });
      const visits = selectVisits.all(id) as Array<{
        lesson: string;
        first_at: string;
        last_at: string;
      }>;
      if (visits[0]) result.lastLesson = visits[0].lesson;
      for (const v of visits) lessonOf(v.lesson).visitedAt = v.first_at;
      for (const p of selectPasses.all(id) as Array<{
        lesson: string;
        exercise: string;
        task: string;
        passed_at: string;
      }>) {
        lessonOf(p.lesson).tasks[`${p.exercise}/${p.task}`] = p.passed_at;
      }
      for (const q of selectQuizzes.all(id) as Array<{
        lesson: string;
        quiz: string;
        answer: number;
        correct: number;
        answered_at: string;
      }>) {
        lessonOf(q.lesson).quizzes[q.quiz] = {
          answer: Number(q.answer),
          correct: Boolean(q.correct),
          answeredAt: q.answered_at,
        };
      }
      return result;
    },
    listAll() {
      const rows = new Map<string, InstructorRow>();
      const rowOf = (publicId: string) => {
        let row = rows.get(publicId);
        if (!row)
          rows.set(
            publicId,
            (row = { publicId, exercises: {}, quizzes: { answered: 0, correct: 0 } }),
          );
        return row;
      };
      for (const v of allVisits.all() as Array<{
        learner: string;
        lesson: string;
        last_at: string;
      }>) {
        const row = rowOf(v.learner);
        row.lastLesson = v.lesson;
        row.lastSeenAt = v.last_at;
      }
      for (const p of allPasses.all() as Array<{
        learner: string;
        lesson: string;
        exercise: string;
        task: string;
      }>) {
        (rowOf(p.learner).exercises[`${p.lesson}/${p.exercise}`] ??= []).push(p.task);
      }
      for (const q of allQuizzes.all() as Array<{
        learner: string;
        answered: number;
        correct: number;
      }>) {
        rowOf(q.learner).quizzes = {
          answered: Number(q.answered),
          correct: Number(q.correct ?? 0),
        };
      }
      return [...rows.values()].sort((a, b) =>
        (b.lastSeenAt ?? "").localeCompare(a.lastSeenAt ?? ""),
      );
    },
    close() {
      db.close();
    },
  };
}

/** Migration 2: the cookie values in learner columns become public ids (hashed in place). */
function hashLearnerIds(db: DatabaseSync): void {
  for (const table of ["task_passes", "quiz_answers", "visits"]) {
    const update = db.prepare(`UPDATE ${table} SET learner = ? WHERE learner = ?`);
    for (const { learner } of db.prepare(`SELECT DISTINCT learner FROM ${table}`).all() as Array<{
      learner: string;
    }>) {
      update.run(publicLearnerId(learner), learner);
    }
  }
}
