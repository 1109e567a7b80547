/**
 * The lesson page: split view, terminal panel (xterm loaded on demand), commands, quizzes,
 * exercises and checks, the live state panel and progress.
 */
import {
  renderDiagramSvg,
  type DiagramContainer,
  type DiagramModel,
  type DiagramVolume,
} from "../utils/diagram.ts";
import { progressOnce } from "./learner.ts";
import { api, ApiError, describeError, ensureSession, forgetSession } from "./session.ts";
import type { TerminalController } from "./terminal.ts";
import type { TaskResult } from "../../sandbox/progress/store.ts";

const main = document.querySelector<HTMLElement>("main[data-lesson]")!;
const lessonId = main.dataset.lesson!;
const body = document.body;
const workbench = document.getElementById("workbench")!;
const narrow = matchMedia("(max-width: 899px)");

// ---------------------------------------------------------------- progress
function post(path: string, payload: unknown): void {
  api("POST", path, payload)
    .then(() => document.dispatchEvent(new CustomEvent("stowage:progress")))
    .catch(() => undefined);
}
post("/api/progress/visits", { lesson: lessonId });

// ---------------------------------------------------------------- split view
const split = document.querySelector<HTMLElement>("[data-split]")!;
const splitter = document.querySelector<HTMLElement>("[data-splitter]")!;
function setSplit(percent: number, save = true) {
  const p = Math.min(75, Math.max(25, Math.round(percent)));
  split.style.setProperty("--split", `${p}%`);
  splitter.setAttribute("aria-valuenow", String(p));
  splitter.setAttribute("aria-valuetext", `lesson ${p}%, terminal ${100 - p}%`);
  if (save) {
    try {
      localStorage.setItem("stowage-split", String(p));
    } catch {
      /* ignore */
    }
  }
}
setSplit(Number(localStorage.getItem("stowage-split")) || 52, false);
splitter.addEventListener("pointerdown", (e) => {
  splitter.setPointerCapture(e.pointerId);
  const rect = split.getBoundingClientRect();
  const move = (ev: PointerEvent) => setSplit(((ev.clientX - rect.left) / rect.width) * 100);
  const up = () => {
    splitter.removeEventListener("pointermove", move);
    splitter.removeEventListener("pointerup", up);
    splitter.removeEventListener("pointercancel", up);
  };
  splitter.addEventListener("pointermove", move);
  splitter.addEventListener("pointerup", up);
  splitter.addEventListener("pointercancel", up);
});
splitter.addEventListener("keydown", (e) => {
  const now = Number(splitter.getAttribute("aria-valuenow"));
  const step = e.shiftKey ? 10 : 2;
  if (e.key === "ArrowLeft") setSplit(now - step);
  else if (e.key === "ArrowRight") setSplit(now + step);
  else if (e.key === "Home") setSplit(25);
  else if (e.key === "End") setSplit(75);
  else return;
  e.preventDefault();
});

// ---------------------------------------------------------------- terminal
const termHost = document.querySelector<HTMLElement>("[data-terminal]")!;
const termStatus = document.querySelector<HTMLElement>("[data-term-status]")!;
const reconnectButton = document.querySelector<HTMLButtonElement>("[data-term-reconnect]")!;
const toggle = document.querySelector<HTMLButtonElement>("[data-terminal-toggle]")!;
const closeButton = document.querySelector<HTMLButtonElement>("[data-terminal-close]")!;
let terminal: Promise<TerminalController> | undefined;

function setTermStatus(text: string, bad = false) {
  termStatus.textContent = text;
  termStatus.title = text; // the bar truncates long messages
  termStatus.classList.toggle("bad", bad);
}
function loadTerminal(): Promise<TerminalController> {
  terminal ??= import("./terminal.ts").then(({ mountTerminal }) =>
    mountTerminal(termHost, {
      status: setTermStatus,
      serverSaid: () => void showIfEngineLost(),
      showReconnect: (show) => (reconnectButton.hidden = !show),
    }),
  );
  return terminal;
}
reconnectButton.addEventListener("click", () => void loadTerminal().then((t) => t.reconnect()));

// "Reset my sandbox": one click, a fresh sandbox (docs/api.md); the checkbox beside it keeps the
// home folder's files. Progress belongs to the learner and is always kept.
const resetButton = document.querySelector<HTMLButtonElement>("[data-term-reset]")!;
const keepHome = document.querySelector<HTMLInputElement>("[data-reset-keep-home]")!;
resetButton.addEventListener("click", () => void resetSandbox());
async function resetSandbox(keep = keepHome.checked) {
  resetButton.disabled = true;
  engineLost.hidden = true;
  setTermStatus("Resetting your sandbox…");
  try {
    const id = await ensureSession();
    await api("POST", `/api/sessions/${encodeURIComponent(id)}/reset`, { keepHome: keep });
  } catch (error) {
    // 404: that session had already ended (or is being rebuilt): a new one is what comes next anyway.
    if (!(error instanceof ApiError && error.status === 404)) {
      setTermStatus(`Could not reset your sandbox: ${describeError(error)}.`, true);
      resetButton.disabled = false;
      engineLostAskedAt = 0;
      void showIfEngineLost(); // still lost: the way out stays on the screen
      return;
    }
  }
  forgetSession();
  const t = await loadTerminal();
  t.reconnect();
  resetButton.disabled = false;
  for (const section of exercises) markStale(section);
  scheduleRecheck(true);
  announceReset(
    keep
      ? "Your sandbox was reset: a fresh one with your files. Your progress is kept."
      : "Your sandbox was reset: a fresh one with an empty home folder. Your progress is kept.",
  );
}

// The Docker engine running the sandbox stopped answering (several engines: docs/decisions/
// engines.md). The terminal hears it first (a notice, or an error when it connects); the session
// says so (state "engine-lost", with its message), and the way out is one click: a new sandbox
// on an engine that answers, the files kept where they can be, the progress always.
const engineLost = document.querySelector<HTMLElement>("[data-engine-lost]")!;
const engineLostText = document.querySelector<HTMLElement>("[data-engine-lost-message]")!;
const engineLostRestart = document.querySelector<HTMLButtonElement>("[data-engine-lost-restart]")!;
engineLostRestart.addEventListener("click", () => void resetSandbox(true));
let engineLostAskedAt = 0;
async function showIfEngineLost() {
  if (Date.now() - engineLostAskedAt < 2000) return; // a reconnecting terminal hears it again and again
  engineLostAskedAt = Date.now();
  try {
    const id = await ensureSession();
    const session = await api<{ state?: string; message?: string }>(
      "GET",
      `/api/sessions/${encodeURIComponent(id)}`,
    );
    const lost = session.state === "engine-lost";
    if (lost) engineLostText.textContent = session.message ?? "";
    engineLost.hidden = !lost;
  } catch {
    // The terminal's status line already says what went wrong.
  }
}

function setPanelOpen(open: boolean) {
  body.classList.toggle("terminal-open", open);
  toggle.setAttribute("aria-expanded", String(open));
  if (open) {
    void loadTerminal().then((t) => {
      t.fit();
      t.focus();
    });
    startStateStream();
  } else {
    toggle.focus();
  }
}
toggle.addEventListener("click", () => setPanelOpen(true));
closeButton.addEventListener("click", () => setPanelOpen(false));
workbench.addEventListener("keydown", (e) => {
  if (
    e.key === "Escape" &&
    narrow.matches &&
    body.classList.contains("terminal-open") &&
    !(e.target as Element).closest(".xterm")
  )
    setPanelOpen(false);
});
/** The terminal is shown: on wide screens always, on phones when the panel is open. */
function terminalShown(): boolean {
  return !narrow.matches || body.classList.contains("terminal-open");
}
if (terminalShown()) {
  void loadTerminal();
  startStateStream();
}
narrow.addEventListener("change", () => {
  if (terminalShown()) {
    void loadTerminal().then((t) => t.fit());
    startStateStream();
  }
});

async function typeIntoTerminal(text: string, run: boolean) {
  if (!terminalShown()) setPanelOpen(true);
  const t = await loadTerminal();
  t.type(text, run);
}
document.addEventListener("click", (e) => {
  const button = (e.target as Element).closest<HTMLElement>("[data-command]");
  if (button) void typeIntoTerminal(button.dataset.command!, button.dataset.run === "true");
});

/** Said in the state panel's status region now, and with the new sandbox's pictures for 10 s. */
let resetNote = "";
let resetNoteUntil = 0;
function announceReset(text: string) {
  resetNote = text;
  resetNoteUntil = Date.now() + 10_000;
  stateStatus.textContent = text;
}

// ---------------------------------------------------------------- quizzes
interface QuizState {
  answer: number;
  correct: boolean;
}
function showQuizResult(form: HTMLFormElement, chosen: number, first: boolean) {
  const answer = Number(form.dataset.answer);
  const predict = form.dataset.kind === "predict";
  const verdict = form.querySelector<HTMLElement>(".quiz-verdict")!;
  const labels = [...form.querySelectorAll<HTMLLabelElement>("label")];
  const right = chosen === answer;
  labels.forEach((label, i) => {
    label.classList.toggle("right", i === answer && (right || predict));
    label.classList.toggle("wrong", i === chosen && !right);
  });
  const optionText = labels[answer]?.textContent?.trim() ?? "";
  if (predict) {
    verdict.className = "quiz-verdict " + (right ? "verdict-ok" : "verdict-bad");
    verdict.textContent = right
      ? "Your prediction was right."
      : `Not quite: the answer is "${optionText}".`;
    form
      .querySelectorAll<HTMLInputElement | HTMLButtonElement>("input, button")
      .forEach((el) => (el.disabled = true));
    form.querySelector<HTMLElement>(".quiz-explanation")!.hidden = false;
  } else {
    verdict.className = "quiz-verdict " + (right ? "verdict-ok" : "verdict-bad");
    verdict.textContent = right ? "Correct." : "Not this one. Try another answer.";
    if (right) {
      form.querySelector<HTMLElement>(".quiz-explanation")!.hidden = false;
      form
        .querySelectorAll<HTMLInputElement | HTMLButtonElement>("input, button")
        .forEach((el) => (el.disabled = true));
    }
  }
  const input = form.querySelector<HTMLInputElement>(`input[value="${chosen}"]`);
  if (input) input.checked = true;
  if (first)
    post("/api/progress/quizzes", {
      lesson: lessonId,
      quiz: form.dataset.quiz,
      answer: chosen,
      correct: right,
    });
}
const answeredQuizzes = new Set<string>();
for (const form of document.querySelectorAll<HTMLFormElement>("form.quiz")) {
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const chosen = form.querySelector<HTMLInputElement>("input:checked");
    const verdict = form.querySelector<HTMLElement>(".quiz-verdict")!;
    if (!chosen) {
      verdict.className = "quiz-verdict verdict-bad";
      verdict.textContent = "Pick an answer first.";
      return;
    }
    const id = form.dataset.quiz!;
    showQuizResult(form, Number(chosen.value), !answeredQuizzes.has(id));
    answeredQuizzes.add(id);
  });
}
function restoreQuizzes(quizzes: Record<string, QuizState>) {
  for (const [id, state] of Object.entries(quizzes)) {
    const form = document.querySelector<HTMLFormElement>(
      `form.quiz[data-quiz="${CSS.escape(id)}"]`,
    );
    if (!form) continue;
    answeredQuizzes.add(id);
    if (form.dataset.kind === "predict") showQuizResult(form, state.answer, false);
  }
}

// ---------------------------------------------------------------- exercises
const exercises = [...document.querySelectorAll<HTMLElement>("section.exercise")];
const passedEver = new Set<string>(); // "exercise/task"
const checking = new Set<HTMLElement>();
const visible = new Set<HTMLElement>();
const started = new Set<HTMLElement>();

function setTaskState(li: HTMLElement, state: "passed" | "failed" | "unchecked", message = "") {
  li.dataset.state = state;
  const mark = li.querySelector<HTMLElement>(".task-mark")!;
  const index = [...li.parentElement!.children].indexOf(li) + 1;
  mark.textContent = state === "passed" ? "✓" : state === "failed" ? "✗" : String(index);
  li.querySelector(".task-state-text")!.textContent =
    state === "passed" ? " (done)" : state === "failed" ? " (not done yet)" : " (not checked yet)";
  const msg = li.querySelector<HTMLElement>(".task-message")!;
  msg.textContent = message;
  msg.hidden = !(state === "failed" && message);
}
function summarize(section: HTMLElement, note = "") {
  const tasks = [...section.querySelectorAll<HTMLElement>("li.task")];
  const done = tasks.filter((t) => t.dataset.state === "passed").length;
  const summary = section.querySelector<HTMLElement>(".ex-summary")!;
  summary.textContent =
    (done === tasks.length
      ? `All ${tasks.length} tasks done. Well done!`
      : `${done} of ${tasks.length} tasks done.`) + (note ? ` ${note}` : "");
}
/** POST /api/sessions/{id}/<what> in the learner's live session (once more in a fresh one if it ended). */
async function sessionPost<T>(what: string, payload: unknown): Promise<T> {
  try {
    const id = await ensureSession();
    return await api<T>("POST", `/api/sessions/${encodeURIComponent(id)}/${what}`, payload);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    forgetSession(); // the session ended: ask for the live one and try once more
    const id = await ensureSession();
    return api<T>("POST", `/api/sessions/${encodeURIComponent(id)}/${what}`, payload);
  }
}
/** Sections to check once more when the check running now ends (it may have read the state from before). */
const checkAgain = new Set<HTMLElement>();
async function runCheck(section: HTMLElement, auto: boolean): Promise<void> {
  if (checking.has(section)) {
    if (auto) checkAgain.add(section);
    return;
  }
  checking.add(section);
  const button = section.querySelector<HTMLButtonElement>("[data-check]")!;
  const summary = section.querySelector<HTMLElement>(".ex-summary")!;
  const exercise = section.dataset.exercise!;
  if (!auto) {
    button.disabled = true;
    summary.textContent = "Checking…";
  }
  try {
    const result = await sessionPost<{ tasks: TaskResult[] }>("checks", {
      lesson: lessonId,
      exercise,
    });
    started.add(section);
    const newlyPassed: TaskResult[] = [];
    for (const task of result.tasks) {
      const li = section.querySelector<HTMLElement>(`li.task[data-task="${CSS.escape(task.id)}"]`);
      if (!li) continue;
      setTaskState(
        li,
        task.passed ? "passed" : "failed",
        task.passed ? "" : task.message?.trim() || "Not done yet.",
      );
      const key = `${exercise}/${task.id}`;
      if (task.passed && !passedEver.has(key)) {
        passedEver.add(key);
        newlyPassed.push(task);
      }
    }
    section.dataset.checkedAt = new Date().toLocaleTimeString();
    delete section.dataset.stale;
    summarize(section, auto ? "(checked automatically)" : "");
    // The checks route records passed tasks itself; the progress marks only need refreshing.
    if (newlyPassed.length) document.dispatchEvent(new CustomEvent("stowage:progress"));
  } catch (error) {
    if (!auto) summary.textContent = `Could not check: ${describeError(error)}.`;
  } finally {
    checking.delete(section);
    button.disabled = false;
    if (checkAgain.delete(section)) void runCheck(section, true);
  }
}
const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (entry.isIntersecting) visible.add(entry.target as HTMLElement);
    else visible.delete(entry.target as HTMLElement);
  }
});
for (const section of exercises) {
  observer.observe(section);
  section
    .querySelector("[data-check]")!
    .addEventListener("click", () => void runCheck(section, false));
  for (const hintButton of section.querySelectorAll<HTMLButtonElement>("[data-hint-button]")) {
    hintButton.addEventListener("click", () => {
      const hidden = [...hintButton.parentElement!.querySelectorAll<HTMLElement>("li[hidden]")];
      const next = hidden[0];
      if (!next) return;
      next.hidden = false;
      next.tabIndex = -1;
      next.focus();
      const total = Number(hintButton.dataset.total);
      const shown = total - hidden.length + 1;
      if (shown >= total) hintButton.hidden = true;
      else hintButton.textContent = `Show another hint (${shown + 1} of ${total})`;
    });
  }
}
// Exercises with a setup.sh: "Prepare this exercise" creates their starting state.
for (const section of exercises) {
  const box = section.querySelector<HTMLElement>("[data-setup]");
  if (!box) continue;
  const button = box.querySelector<HTMLButtonElement>("[data-setup-button]")!;
  const status = box.querySelector<HTMLElement>("[data-setup-status]")!;
  const output = box.querySelector<HTMLElement>("[data-setup-output]")!;
  button.addEventListener("click", () => {
    button.disabled = true;
    box.dataset.state = "running";
    status.textContent = "Preparing… (this can take a little while)";
    output.hidden = true;
    sessionPost<{ ok: boolean; output: string }>("setup", {
      lesson: lessonId,
      exercise: section.dataset.exercise,
    })
      .then((result) => {
        box.dataset.state = result.ok ? "ready" : "failed";
        status.textContent = result.ok
          ? "Ready: the starting state is in your sandbox."
          : "The preparation failed. What it printed:";
        output.textContent = result.output.trim() || "(it printed nothing)";
        output.hidden = result.ok;
        if (result.ok) {
          started.add(section);
          button.textContent = "Prepare again";
          void files?.then((f) => f.refresh());
        }
      })
      .catch((error: unknown) => {
        box.dataset.state = "failed";
        status.textContent = `Could not prepare: ${describeError(error)}.`;
      })
      .finally(() => (button.disabled = false));
  });
}
/**
 * A failed result the student may have fixed since (Enter in the terminal: a file written, a
 * docker exec, which the state stream does not see): it says which check it is from, until the
 * re-check that follows replaces it.
 */
function markStale(section: HTMLElement) {
  if (!section.querySelector('li.task[data-state="failed"]') || !section.dataset.checkedAt) return;
  section.dataset.stale = "true";
  summarize(
    section,
    `(from the check at ${section.dataset.checkedAt}, before what you ran since; checking again…)`,
  );
}
/** Enter in the terminal: the exercises checked before are checked again once typing pauses. */
document.addEventListener("stowage:terminal-enter", () => {
  for (const section of exercises) markStale(section);
  scheduleRecheck(true);
});
/** Re-check the exercises the student is working on: visible (or already checked) and not finished. */
let recheckTimer: ReturnType<typeof setTimeout> | undefined;
let recheckVisible = false;
function scheduleRecheck(onlyChecked = false) {
  clearTimeout(recheckTimer);
  recheckVisible ||= !onlyChecked;
  recheckTimer = setTimeout(() => {
    const alsoVisible = recheckVisible;
    recheckVisible = false;
    for (const section of exercises) {
      const open = started.has(section) || (alsoVisible && visible.has(section));
      const finished = [...section.querySelectorAll<HTMLElement>("li.task")].every(
        (t) => t.dataset.state === "passed",
      );
      if (open && !finished) void runCheck(section, true);
    }
  }, 1200);
}
function restoreTasks(tasks: Record<string, string>) {
  for (const key of Object.keys(tasks)) {
    passedEver.add(key);
    const [exercise, task] = key.split("/");
    const section = exercises.find((s) => s.dataset.exercise === exercise);
    const li = section?.querySelector<HTMLElement>(`li.task[data-task="${CSS.escape(task!)}"]`);
    if (li) setTaskState(li, "passed");
  }
  for (const section of exercises)
    if (section.querySelector('li.task[data-state="passed"]'))
      summarize(section, "(from your progress)");
}

progressOnce()
  .then((p) => {
    const mine = p?.lessons[lessonId];
    if (!mine) return;
    restoreTasks(mine.tasks);
    restoreQuizzes(mine.quizzes);
  })
  .catch(() => undefined);

// ---------------------------------------------------------------- state panel
interface Snapshot {
  containers: Array<{
    id: string;
    name: string;
    image?: string;
    state: string;
    mounts: DiagramContainer["mounts"];
  }>;
  volumes: DiagramVolume[];
}
const stateDiagram = document.querySelector<HTMLElement>("[data-state-diagram]")!;
const stateStatus = document.querySelector<HTMLElement>("[data-state-status]")!;
let stream: EventSource | undefined;
let streamStarted = false;
let lastSnapshot = "";
let previous = new Map<string, DiagramContainer>();
const ghosts = new Map<string, { container: DiagramContainer; until: number }>();
let latest: Snapshot = { containers: [], volumes: [] };

function draw() {
  const now = Date.now();
  for (const [name, g] of ghosts) if (g.until < now) ghosts.delete(name);
  const model: DiagramModel = {
    containers: [
      ...latest.containers.map((c) => ({
        name: c.name,
        image: c.image,
        state: c.state,
        mounts: c.mounts,
      })),
      // A removed container stays for a moment, still linked to the volumes that outlived it.
      ...[...ghosts.values()].map((g) => ({
        ...g.container,
        mounts: (g.container.mounts ?? []).filter((m) =>
          latest.volumes.some((v) => v.name === m.source),
        ),
      })),
    ],
    volumes: latest.volumes,
  };
  stateDiagram.innerHTML = renderDiagramSvg(model, {
    idPrefix: "live",
    title: "Your containers, volumes and mounts",
  });
}
function onSnapshot(snapshot: Snapshot) {
  latest = snapshot;
  const current = new Map(
    snapshot.containers.map((c) => [
      c.name,
      { name: c.name, image: c.image, state: c.state, mounts: c.mounts },
    ]),
  );
  const notes: string[] = [];
  for (const [name, c] of previous) {
    if (current.has(name)) continue;
    const kept = (c.mounts ?? []).filter(
      (m) => m.type === "volume" && snapshot.volumes.some((v) => v.name === m.source),
    );
    ghosts.set(name, {
      container: { ...c, state: "removed", mounts: kept },
      until: Date.now() + 6000,
    });
    setTimeout(draw, 6100);
    notes.push(
      kept.length
        ? `Container ${name} was removed; volume ${kept.map((m) => m.source).join(", ")} is still here.`
        : `Container ${name} was removed.`,
    );
  }
  for (const name of current.keys()) ghosts.delete(name);
  previous = current;
  draw();
  const n = snapshot.containers.length;
  const v = snapshot.volumes.length;
  stateStatus.textContent = [
    Date.now() < resetNoteUntil ? resetNote : "",
    notes.join(" ") ||
      `${n} container${n === 1 ? "" : "s"}, ${v} volume${v === 1 ? "" : "s"}. Live.`,
  ]
    .filter(Boolean)
    .join(" ");
}
// A new session (the old one ended): nothing of the old picture carries over.
document.addEventListener("stowage:session", () => {
  ghosts.clear();
  previous = new Map();
});
// The Files panel: loaded with the state stream, refreshed on every Docker change.
let files: Promise<{ refresh(): void }> | undefined;
function loadFiles() {
  const root = document.querySelector<HTMLElement>("[data-files]");
  if (root) files ??= import("./files.ts").then(({ mountFiles }) => mountFiles(root));
}
function startStateStream() {
  if (streamStarted) return;
  streamStarted = true;
  loadFiles();
  let attempt = 0;
  const open = async () => {
    let id: string;
    try {
      id = await ensureSession();
    } catch (error) {
      stateStatus.textContent = `Not connected: ${describeError(error)}.`;
      setTimeout(() => void open(), Math.min(15_000, 1000 * 2 ** attempt++));
      return;
    }
    stream = new EventSource(`/api/sessions/${encodeURIComponent(id)}/state`, {
      withCredentials: true,
    });
    stream.addEventListener("snapshot", (event) => {
      attempt = 0;
      const text = (event as MessageEvent<string>).data;
      if (text === lastSnapshot) return;
      const first = lastSnapshot === "";
      lastSnapshot = text;
      try {
        onSnapshot(JSON.parse(text) as Snapshot);
      } catch {
        return;
      }
      if (!first) scheduleRecheck();
      void files?.then((f) => f.refresh());
    });
    stream.onerror = () => {
      // EventSource retries by itself while the session lives; when it gives up, start again.
      if (stream?.readyState === EventSource.CLOSED) {
        stream = undefined;
        forgetSession();
        stateStatus.textContent = "Disconnected; reconnecting…";
        setTimeout(() => void open(), Math.min(15_000, 1000 * 2 ** attempt++));
      }
    };
  };
  // The learner's sandbox was replaced (reset, or rebuilt after its workstation vanished): follow it.
  document.addEventListener("stowage:session", () => {
    stream?.close();
    stream = undefined;
    lastSnapshot = "";
    attempt = 0;
    void open();
  });
  void open();
}
