import { randomBytes } from "node:crypto";
import type { Database } from "./database.ts";
import { migrate, schemaVersionOf } from "./migrations.ts";
import {
  publicLearnerId,
  type InstructorRow,
  type LearnerProgress,
  type ProgressStore,
  type TaskCheck,
} from "./store.ts";

/**
 * Learner progress over either backend (store.ts has the interface). Rows are keyed by the
 * learner's public id; callers pass the cookie's learner id and the store hashes it.
 */
export async function openProgressStore(db: Database): Promise<ProgressStore> {
  await migrate(db);
  const listeners = new Set<(publicId: string) => void>();
  const tell = (publicId: string) => {
    for (const listener of listeners) listener(publicId);
  };
  // With several servers on one PostgreSQL database, a check passed on one reaches the class
  // dashboards open on the others: each change is also announced on a channel. This server's own
  // announcements come back too and are skipped (its listeners were told at once).
  const CHANNEL = "stowage_learner_changed";
  const origin = randomBytes(6).toString("hex");
  db.channel?.listen(CHANNEL, (payload) => {
    const [from, publicId] = payload.split(" ");
    if (from !== origin && publicId) tell(publicId);
  });
  const changed = (learnerId: string) => {
    const publicId = publicLearnerId(learnerId);
    tell(publicId);
    // Best effort: a dashboard that misses it still refreshes every 10 s.
    void db.channel?.notify(CHANNEL, `${origin} ${publicId}`).catch(() => undefined);
  };
  // Timestamps strictly increase within a process, so "last visited" is unambiguous.
  let lastStamp = 0;
  const now = () => {
    lastStamp = Math.max(Date.now(), lastStamp + 1);
    return new Date(lastStamp).toISOString();
  };

  return {
    database: db,
    async recordTasks(learnerId, lesson, exercise, tasks) {
      const learner = publicLearnerId(learnerId);
      const at = now();
      const ids = tasks.flatMap((t) => (typeof t === "string" ? [t] : t.passed ? [t.id] : []));
      if (ids.length === 0) return 0;
      const added = await db.transaction(async (tx) => {
        let count = 0;
        for (const id of ids)
          count += await tx.run(
            "INSERT INTO task_passes (learner, lesson, exercise, task, passed_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [learner, lesson, exercise, id, at],
          );
        return count;
      });
      if (added > 0) changed(learnerId);
      return added;
    },
    async recordAttempts(learnerId, lesson, exercise, results) {
      const at = now();
      const learner = publicLearnerId(learnerId);
      await db.transaction(async (tx) => {
        // A message is kept short: it is shown in a table cell and counted across the class.
        for (const r of results)
          await tx.run(
            `INSERT INTO task_checks (learner, lesson, exercise, task, attempts, failures_in_row, last_passed, last_message, last_at)
             VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)
             ON CONFLICT (learner, lesson, exercise, task) DO UPDATE SET
               attempts = task_checks.attempts + (CASE WHEN EXISTS (SELECT 1 FROM task_passes p WHERE p.learner = excluded.learner AND p.lesson = excluded.lesson AND p.exercise = excluded.exercise AND p.task = excluded.task) THEN 0 ELSE 1 END),
               failures_in_row = CASE WHEN excluded.last_passed = 1 THEN 0 ELSE task_checks.failures_in_row + 1 END,
               last_passed = excluded.last_passed, last_message = excluded.last_message, last_at = excluded.last_at`,
            [
              learner,
              lesson,
              exercise,
              r.id,
              r.passed ? 0 : 1,
              r.passed ? 1 : 0,
              r.passed ? "" : r.message.slice(0, 300),
              at,
            ],
          );
      });
      changed(learnerId);
    },
    async taskChecks(publicId) {
      const rows = await db.all<Record<string, string | number | null>>(
        `SELECT c.lesson, c.exercise, c.task, c.attempts, c.failures_in_row, c.last_passed, c.last_message, c.last_at, p.passed_at
         FROM task_checks c LEFT JOIN task_passes p USING (learner, lesson, exercise, task) WHERE c.learner = ?
         ORDER BY c.lesson, c.exercise, c.task`,
        [publicId],
      );
      return rows.map((r): TaskCheck => ({
        lesson: String(r.lesson),
        exercise: String(r.exercise),
        task: String(r.task),
        attempts: Number(r.attempts),
        failuresInRow: Number(r.failures_in_row),
        lastPassed: Number(r.last_passed) === 1,
        lastMessage: String(r.last_message),
        lastAt: String(r.last_at),
        ...(r.passed_at ? { passedAt: String(r.passed_at) } : {}),
      }));
    },
    onLearnerChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async recordQuiz(learnerId, a) {
      await db.run(
        "INSERT INTO quiz_answers (learner, lesson, quiz, answer, correct, answered_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [publicLearnerId(learnerId), a.lesson, a.quiz, a.answer, a.correct ? 1 : 0, now()],
      );
    },
    async recordVisit(learnerId, lesson) {
      const at = now();
      await db.run(
        "INSERT INTO visits (learner, lesson, first_at, last_at) VALUES (?, ?, ?, ?) ON CONFLICT (learner, lesson) DO UPDATE SET last_at = excluded.last_at",
        [publicLearnerId(learnerId), lesson, at, at],
      );
      changed(learnerId);
    },
    async get(learnerId) {
      const id = publicLearnerId(learnerId);
      const result: LearnerProgress = { lessons: {} };
      const lessonOf = (lesson: string) => (result.lessons[lesson] ??= { tasks: {}, quizzes: {} });
      const [visits, passes, quizzes] = await Promise.all([
        db.all<{ lesson: string; first_at: string; last_at: string }>(
          "SELECT lesson, first_at, last_at FROM visits WHERE learner = ? ORDER BY last_at DESC, rowid DESC",
          [id],
        ),
        db.all<{ lesson: string; exercise: string; task: string; passed_at: string }>(
          "SELECT lesson, exercise, task, passed_at FROM task_passes WHERE learner = ? ORDER BY lesson, exercise, task",
          [id],
        ),
        db.all<{
          lesson: string;
          quiz: string;
          answer: number;
          correct: number;
          answered_at: string;
        }>(
          "SELECT lesson, quiz, answer, correct, answered_at FROM quiz_answers WHERE learner = ? ORDER BY lesson, quiz",
          [id],
        ),
      ]);
      if (visits[0]) result.lastLesson = visits[0].lesson;
      for (const v of visits) lessonOf(v.lesson).visitedAt = v.first_at;
      for (const p of passes) lessonOf(p.lesson).tasks[`${p.exercise}/${p.task}`] = p.passed_at;
      for (const q of quizzes)
        lessonOf(q.lesson).quizzes[q.quiz] = {
          answer: Number(q.answer),
          correct: Boolean(Number(q.correct)),
          answeredAt: q.answered_at,
        };
      return result;
    },
    async listAll() {
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
      const [visits, passes, quizzes] = await Promise.all([
        db.all<{ learner: string; lesson: string; last_at: string }>(
          "SELECT learner, lesson, last_at FROM visits ORDER BY last_at ASC, rowid ASC",
        ),
        db.all<{ learner: string; lesson: string; exercise: string; task: string }>(
          "SELECT learner, lesson, exercise, task FROM task_passes ORDER BY lesson, exercise, passed_at, task",
        ),
        db.all<{ learner: string; answered: number | string; correct: number | string | null }>(
          "SELECT learner, COUNT(*) AS answered, SUM(correct) AS correct FROM quiz_answers GROUP BY learner ORDER BY learner",
        ),
      ]);
      for (const v of visits) {
        const row = rowOf(v.learner);
        row.lastLesson = v.lesson;
        row.lastSeenAt = v.last_at;
      }
      for (const p of passes)
        (rowOf(p.learner).exercises[`${p.lesson}/${p.exercise}`] ??= []).push(p.task);
      for (const q of quizzes)
        rowOf(q.learner).quizzes = {
          answered: Number(q.answered),
          correct: Number(q.correct ?? 0),
        };
      return [...rows.values()].sort((a, b) =>
        (b.lastSeenAt ?? "").localeCompare(a.lastSeenAt ?? ""),
      );
    },
    schemaVersion: () => schemaVersionOf(db),
    close: () => db.close(),
  };
}
