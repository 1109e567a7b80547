import { createHash } from "node:crypto";
import type { Database } from "./database.ts";

/**
 * The platform's state, as its callers see it: learner progress (passed exercise tasks, quiz
 * answers, visited lessons, check attempts), and the database the class and session-owner tables
 * live in. Every call is async: the same interface is served by SQLite (the embedded default,
 * sqlite-database.ts) and by PostgreSQL (STOWAGE_DATABASE_URL, postgres-database.ts), with one
 * implementation of the queries (progress-store.ts) and versioned migrations (migrations.ts).
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
  ): Promise<number>;
  /** Records a quiz answer; the first committed answer is kept (predict-then-reveal). */
  recordQuiz(learnerId: string, answer: QuizAnswer): Promise<void>;
  recordVisit(learnerId: string, lesson: string): Promise<void>;
  get(learnerId: string): Promise<LearnerProgress>;
  listAll(): Promise<InstructorRow[]>;
  /**
   * Records one check run's results per task, for the teacher's dashboard: attempts (check runs
   * until the task first passed), failures in a row, and the last result and message.
   */
  recordAttempts(
    learnerId: string,
    lesson: string,
    exercise: string,
    results: readonly CheckResult[],
  ): Promise<void>;
  /** Every task a learner has been checked on, with its attempts and last result. */
  taskChecks(publicId: string): Promise<TaskCheck[]>;
  /** Called after a learner's checks or visits are recorded (the class dashboards listen). */
  onLearnerChange(listener: (publicId: string) => void): () => void;
  /** The database, for the modules that keep their own tables in it (classes/class-store.ts, session-owners.ts). */
  readonly database: Database;
  /** The schema version the database is at (migrations.ts). */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
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
