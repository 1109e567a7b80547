/**
 * The teacher's view of one class: each student's tasks (passed / failing / not tried, attempts,
 * the last failure message), who is stuck, and per task across the class how many passed and the
 * most common failure messages.
 *
 * "Stuck" (docs/classes.md): a task the student has not passed failed 3 checks in a row, or the
 * student was active in the last 10 minutes without passing anything new for 10 minutes.
 */
import type { ProgressStore, TaskCheck } from "../progress/store.ts";
import type { SessionManager } from "../sessions/session-manager.ts";
import type { ClassRecord, ClassStore } from "./class-store.ts";

export const STUCK_FAILURES_IN_ROW = 3;
export const STUCK_NO_PROGRESS_MS = 10 * 60_000;

export type TaskStatus = "passed" | "failing" | "not-tried";

export interface StudentTask {
  status: TaskStatus;
  attempts: number;
  lastMessage?: string;
  lastAt: string;
}

export interface StudentRow {
  memberId: string;
  name: string;
  joinedAt: string;
  online: boolean;
  /** The engine running the student's sandbox stopped answering (its name): they start again with one click. */
  engineLost?: string;
  lastActiveAt?: string;
  lastProgressAt: string;
  stuck: boolean;
  stuckReason?: string;
  /** By "lesson/exercise/task"; tasks never checked are absent (not tried). */
  tasks: Record<string, StudentTask>;
}

export interface TaskSummary {
  passed: number;
  failing: number;
  topFailures: { message: string; count: number }[];
}

export interface ClassView {
  code: string;
  name: string;
  seats: number;
  startsAt: string;
  endsAt: string;
  ended: boolean;
  warm: number;
  joined: number;
  students: StudentRow[];
  summary: Record<string, TaskSummary>;
  generatedAt: string;
}

function studentTasks(checks: TaskCheck[]): Record<string, StudentTask> {
  const tasks: Record<string, StudentTask> = {};
  for (const c of checks) {
    const passed = c.passedAt !== undefined;
    tasks[`${c.lesson}/${c.exercise}/${c.task}`] = {
      status: passed ? "passed" : "failing",
      attempts: c.attempts,
      ...(!passed && c.lastMessage ? { lastMessage: c.lastMessage } : {}),
      lastAt: passed ? c.passedAt! : c.lastAt,
    };
  }
  return tasks;
}

export async function classView(
  record: ClassRecord,
  classes: ClassStore,
  progress: ProgressStore,
  sessions: SessionManager,
  warm: number,
  now = Date.now(),
): Promise<ClassView> {
  const members = await classes.members(record.code);
  const checksOf = await Promise.all(members.map((m) => progress.taskChecks(m.publicId)));
  const students = members.map((member, i): StudentRow => {
    const checks = checksOf[i]!;
    const tasks = studentTasks(checks);
    const session = sessions.forPublicId(member.publicId);
    const lastProgressAt = checks.reduce(
      (latest, c) => (c.passedAt && c.passedAt > latest ? c.passedAt : latest),
      member.joinedAt,
    );
    const lastCheckAt = checks.reduce((latest, c) => (c.lastAt > latest ? c.lastAt : latest), "");
    const lastActive = Math.max(
      session?.lastActiveAt ?? 0,
      lastCheckAt ? Date.parse(lastCheckAt) : 0,
    );
    const repeated = checks.find((c) => !c.passedAt && c.failuresInRow >= STUCK_FAILURES_IN_ROW);
    const stalled =
      now - lastActive < STUCK_NO_PROGRESS_MS &&
      now - Date.parse(lastProgressAt) >= STUCK_NO_PROGRESS_MS;
    const stuckReason = repeated
      ? `${repeated.exercise} / ${repeated.task} failed ${repeated.failuresInRow} checks in a row`
      : stalled
        ? `nothing new passed for ${Math.floor((now - Date.parse(lastProgressAt)) / 60_000)} min while working`
        : undefined;
    return {
      memberId: member.memberId,
      name: member.name,
      joinedAt: member.joinedAt,
      online: session !== undefined,
      ...(session?.engineLost ? { engineLost: session.engine.name } : {}),
      ...(lastActive ? { lastActiveAt: new Date(lastActive).toISOString() } : {}),
      lastProgressAt,
      stuck: stuckReason !== undefined,
      ...(stuckReason ? { stuckReason } : {}),
      tasks,
    };
  });
  const summary: Record<string, TaskSummary> = {};
  const messages = new Map<string, Map<string, number>>();
  for (const student of students) {
    for (const [key, task] of Object.entries(student.tasks)) {
      const s = (summary[key] ??= { passed: 0, failing: 0, topFailures: [] });
      if (task.status === "passed") s.passed++;
      else s.failing++;
      if (task.lastMessage) {
        const counts = messages.get(key) ?? new Map<string, number>();
        counts.set(task.lastMessage, (counts.get(task.lastMessage) ?? 0) + 1);
        messages.set(key, counts);
      }
    }
  }
  for (const [key, counts] of messages) {
    summary[key]!.topFailures = [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([message, count]) => ({ message, count }));
  }
  return {
    code: record.code,
    name: record.name,
    seats: record.seats,
    startsAt: record.startsAt,
    endsAt: record.endsAt,
    ended: now >= Date.parse(record.endsAt),
    warm,
    joined: students.length,
    students,
    summary,
    generatedAt: new Date(now).toISOString(),
  };
}
