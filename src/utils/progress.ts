/** Progress shapes shared by the site and the progress API, plus pure status logic. */

export interface LessonProgress {
  visitedAt?: string;
  /** "exercise/task" -> ISO time it first passed. */
  tasks: Record<string, string>;
  /** quiz id -> the answer the student committed to. */
  quizzes: Record<string, { answer: number; correct: boolean; answeredAt: string }>;
}

export interface ProgressSummary {
  lastLesson?: string;
  lessons: Record<string, LessonProgress>;
}

export type LessonStatus = "done" | "in-progress" | "not-started";

/**
 * A lesson is done when every task of every exercise has passed (a lesson without exercises:
 * when it was visited), in progress when visited or anything was recorded, else not started.
 */
export function lessonStatus(
  taskKeys: readonly string[],
  progress: LessonProgress | undefined,
): LessonStatus {
  if (!progress) return "not-started";
  const passed = taskKeys.filter((k) => progress.tasks[k]).length;
  if (taskKeys.length > 0 && passed === taskKeys.length) return "done";
  if (taskKeys.length === 0 && progress.visitedAt) return "done";
  if (progress.visitedAt || passed > 0 || Object.keys(progress.quizzes).length > 0)
    return "in-progress";
  return "not-started";
}

/** A short stable id for a quiz from its question (FNV-1a, base 36). */
export function quizId(question: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < question.length; i++) {
    h ^= question.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return "q" + h.toString(36);
}
