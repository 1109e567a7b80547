/**
 * /instructor/ classes: create a class (code and join link), and its live dashboard: students by
 * name, per task passed / failing / not tried with attempts and the last failure, who is stuck,
 * a per-task summary, CSV export, and a read-only look at one student's terminal and sandbox.
 * Data: GET /api/instructor/classes/{code}/events (Server-Sent Events, read with fetch so the
 * token goes in a header, never in a URL).
 */
interface Column {
  key: string;
  lesson: number;
  title: string;
  tasks: string[];
  taskTitles: string[];
}
interface StudentTask {
  status: "passed" | "failing";
  attempts: number;
  lastMessage?: string;
  lastAt: string;
}
interface Student {
  memberId: string;
  name: string;
  joinedAt: string;
  online: boolean;
  engineLost?: string;
  lastProgressAt: string;
  stuck: boolean;
  stuckReason?: string;
  tasks: Record<string, StudentTask>;
}
interface ClassView {
  code: string;
  name: string;
  seats: number;
  startsAt: string;
  endsAt: string;
  ended: boolean;
  warm: number;
  joined: number;
  joinUrl: string;
  students: Student[];
  summary: Record<
    string,
    { passed: number; failing: number; topFailures: { message: string; count: number }[] }
  >;
}
interface ClassListItem {
  code: string;
  name: string;
  seats: number;
  joined: number;
  ended: boolean;
}

const columns = JSON.parse(document.getElementById("instructor-columns")!.textContent!) as Column[];
const tasks = columns.flatMap((c) =>
  c.tasks.map((t, i) => ({
    key: `${c.key}/${t}`,
    column: c,
    index: i,
    title: c.taskTitles[i] ?? t,
  })),
);
const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;
const section = $<HTMLElement>("[data-classes]");
const tokenInput = $<HTMLInputElement>("#token");
const createForm = $<HTMLFormElement>("[data-class-form]");
const createStatus = $<HTMLElement>("[data-class-create-status]");
const select = $<HTMLSelectElement>("[data-class-select]");
const board = $<HTMLElement>("[data-class-board]");
const table = $<HTMLTableElement>("[data-class-table]");
const summaryBody = $<HTMLTableSectionElement>("[data-class-summary] tbody");
const liveStatus = $<HTMLElement>("[data-class-live]");
const watchPanel = $<HTMLElement>("[data-watch-panel]");

const token = () =>
  tokenInput.value.trim() || sessionStorage.getItem("stowage-instructor-token") || "";
const authorized = (init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token()}` },
});
let current: ClassView | undefined;
let following: AbortController | undefined;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  attrs: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function ago(iso: string | undefined): string {
  if (!iso) return "—";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
}

/** Reads a Server-Sent Events response with fetch (headers allowed), calling `onEvent` per event. */
async function readEvents(
  url: string,
  signal: AbortSignal,
  onEvent: (name: string, data: unknown) => void,
): Promise<void> {
  const res = await fetch(url, authorized({ signal }));
  if (!res.ok || !res.body) throw new Error(`the server answered ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data !== undefined) onEvent(name, JSON.parse(data));
    }
  }
}

/** Follows an event stream, reconnecting after 2 s until aborted. */
function follow(
  url: string,
  signal: AbortSignal,
  onEvent: (name: string, data: unknown) => void,
  onState: (text: string) => void,
): void {
  void (async () => {
    while (!signal.aborted) {
      try {
        onState("Live.");
        await readEvents(url, signal, onEvent);
      } catch {
        /* reconnect below */
      }
      if (signal.aborted) return;
      onState("Connection lost; reconnecting…");
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
}

async function loadClasses(select_?: string): Promise<boolean> {
  const res = await fetch("/api/instructor/classes", authorized()).catch(() => undefined);
  if (!res?.ok) return false;
  const { classes } = (await res.json()) as { classes: ClassListItem[] };
  select.replaceChildren(
    el("option", classes.length ? "Choose a class…" : "No class yet", { value: "" }),
    ...classes.map((c) =>
      el("option", `${c.name} (${c.code}, ${c.joined}/${c.seats}${c.ended ? ", ended" : ""})`, {
        value: c.code,
      }),
    ),
  );
  section.hidden = false;
  if (select_) {
    select.value = select_;
    openClass(select_);
  }
  return true;
}

function openClass(code: string): void {
  following?.abort();
  closeWatch();
  if (!code) {
    board.hidden = true;
    return;
  }
  following = new AbortController();
  follow(
    `/api/instructor/classes/${code}/events`,
    following.signal,
    (name, data) => name === "class" && render(data as ClassView),
    (text) => (liveStatus.textContent = text),
  );
}

function taskCell(task: StudentTask | undefined, title: string): HTMLTableCellElement {
  const status = task?.status ?? "not-tried";
  const td = el("td", undefined, { class: `task ${status}`, "data-status": status });
  const detail = !task
    ? "not tried"
    : task.status === "passed"
      ? `passed after ${task.attempts} attempt${task.attempts === 1 ? "" : "s"}`
      : `failing, ${task.attempts} attempt${task.attempts === 1 ? "" : "s"}: ${task.lastMessage ?? ""}`;
  td.title = `${title}: ${detail}`;
  td.append(
    el("span", !task ? "·" : task.status === "passed" ? "✓" : `✗${task.attempts}`, {
      "aria-hidden": "true",
    }),
    el("span", detail, { class: "visually-hidden" }),
  );
  return td;
}

function lastFailure(student: Student): string {
  let latest: StudentTask | undefined;
  for (const task of Object.values(student.tasks))
    if (task.status === "failing" && (!latest || task.lastAt > latest.lastAt)) latest = task;
  return latest?.lastMessage ?? "";
}

function render(view: ClassView): void {
  current = view;
  board.hidden = false;
  $("[data-class-name]").textContent = view.name;
  $("[data-class-code]").textContent = `${view.code.slice(0, 3)}-${view.code.slice(3)}`;
  const link = $<HTMLAnchorElement>("[data-class-link]");
  link.href = view.joinUrl;
  link.textContent = view.joinUrl;
  $("[data-class-counts]").textContent =
    `${view.joined} of ${view.seats} seats taken · ${view.warm} sandbox${view.warm === 1 ? "" : "es"} warm${view.ended ? " · the class has ended" : ""} · ${view.students.filter((s) => s.stuck).length} stuck`;
  $<HTMLButtonElement>("[data-class-end]").disabled = view.ended;

  const head1 = el("tr");
  head1.append(
    el("th", "Student", { scope: "col", rowspan: "2", class: "sticky-col" }),
    el("th", "Last progress", { scope: "col", rowspan: "2" }),
    el("th", "Last failure", { scope: "col", rowspan: "2" }),
  );
  const head2 = el("tr");
  for (const c of columns) {
    const full = `Lesson ${c.lesson}: ${c.title}`;
    const th = el("th", undefined, {
      scope: "colgroup",
      colspan: String(c.tasks.length),
      title: full,
      class: "exercise",
    });
    th.append(el("span", full, { class: "exercise-title" }));
    head1.append(th);
    c.tasks.forEach((t, i) =>
      head2.append(
        el("th", String(i + 1), {
          scope: "col",
          title: `${full}, task ${i + 1}: ${c.taskTitles[i] ?? t}`,
          "aria-label": `${c.title}, task ${i + 1}`,
        }),
      ),
    );
  }
  const body = el("tbody");
  for (const s of view.students) {
    const tr = el("tr", undefined, s.stuck ? { class: "stuck" } : {});
    const th = el("th", undefined, { scope: "row", class: "sticky-col" });
    th.append(el("span", s.name, { class: "student-name" }));
    if (s.stuck)
      th.append(
        el("span", "stuck", { class: "badge", title: s.stuckReason ?? "" }),
        el("span", `: ${s.stuckReason ?? ""}`, { class: "visually-hidden" }),
      );
    if (s.engineLost) {
      const why = `the Docker engine ${s.engineLost} running this student's sandbox stopped answering; they are told to start again on another engine (one click, progress kept)`;
      th.append(
        el("span", "sandbox lost", { class: "badge", title: why }),
        el("span", `: ${why}`, { class: "visually-hidden" }),
      );
    } else if (s.online) {
      const watch = el("button", "Watch", {
        type: "button",
        class: "watch",
        "data-watch": s.memberId,
      });
      watch.append(el("span", ` ${s.name}'s terminal`, { class: "visually-hidden" }));
      th.append(watch);
    }
    tr.append(
      th,
      el("td", ago(s.lastProgressAt)),
      el("td", lastFailure(s), { class: "failure", title: lastFailure(s) }),
    );
    for (const t of tasks)
      tr.append(taskCell(s.tasks[t.key], `${t.column.title}, task ${t.index + 1}`));
    body.append(tr);
  }
  const thead = el("thead");
  thead.append(head1, head2);
  table.replaceChildren(
    el(
      "caption",
      `${view.name}: each student's tasks (✓ passed, ✗ failing with attempts, · not tried)`,
      { class: "visually-hidden" },
    ),
    thead,
    body,
  );

  summaryBody.replaceChildren(
    ...tasks.map((t) => {
      const s = view.summary[t.key];
      const tr = el("tr");
      tr.append(
        el("th", `L${t.column.lesson} ${t.column.title}, task ${t.index + 1}: ${t.title}`, {
          scope: "row",
        }),
        el("td", String(s?.passed ?? 0)),
        el("td", String(s?.failing ?? 0)),
        el("td", String(view.joined - (s?.passed ?? 0) - (s?.failing ?? 0))),
      );
      const failures = el("td");
      if (s?.topFailures.length) {
        const list = el("ul");
        for (const f of s.topFailures) list.append(el("li", `${f.message} (${f.count})`));
        failures.append(list);
      }
      tr.append(failures);
      return tr;
    }),
  );
}

/** CSV for a spreadsheet; a cell that would start a formula is prefixed with ' (names are typed by students). */
function csv(view: ClassView): string {
  const cell = (v: string) => {
    const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
    return /[",\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const header = [
    "name",
    "joined at",
    "last progress at",
    "stuck",
    "stuck reason",
    "last failure",
    ...tasks.map((t) => `L${t.column.lesson} ${t.column.title} / ${t.title}`),
  ];
  const rows = view.students.map((s) => [
    s.name,
    s.joinedAt,
    s.lastProgressAt,
    s.stuck ? "yes" : "no",
    s.stuckReason ?? "",
    lastFailure(s),
    ...tasks.map((t) => {
      const task = s.tasks[t.key];
      return !task
        ? "not tried"
        : task.status === "passed"
          ? `passed (${task.attempts})`
          : `failing (${task.attempts})`;
    }),
  ]);
  return [header, ...rows].map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}

// Watching one student: the terminal (read-only) and the state panel.
let watching: { ws: WebSocket; abort: AbortController; dispose(): void } | undefined;
function closeWatch(): void {
  watching?.ws.close();
  watching?.abort.abort();
  watching?.dispose();
  watching = undefined;
  watchPanel.hidden = true;
}

async function openWatch(memberId: string, opener: HTMLElement): Promise<void> {
  if (!current) return;
  closeWatch();
  const code = current.code;
  const status = $("[data-watch-status]");
  const res = await fetch(
    `/api/instructor/classes/${code}/students/${memberId}/watch`,
    authorized({ method: "POST" }),
  );
  const answer = (await res.json()) as { url?: string; name?: string; error?: string };
  if (!res.ok || !answer.url) {
    liveStatus.textContent = `Cannot watch: ${answer.error ?? res.status}`;
    return;
  }
  const [{ Terminal }] = await Promise.all([
    import("@xterm/xterm"),
    import("@xterm/xterm/css/xterm.css"),
  ]);
  const host = $("[data-watch-terminal]");
  host.replaceChildren();
  const term = new Terminal({
    disableStdin: true,
    cursorBlink: false,
    fontSize: 13,
    scrollback: 1000,
    theme: { background: "#111418", foreground: "#e6edf3" },
  });
  term.open(host);
  term.textarea?.setAttribute("aria-label", `${answer.name}'s terminal (read-only)`);
  term.textarea?.setAttribute("readonly", "");
  const ws = new WebSocket(
    `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${answer.url}`,
  );
  ws.binaryType = "arraybuffer";
  ws.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
    if (typeof event.data !== "string") return term.write(new Uint8Array(event.data));
    const msg = JSON.parse(event.data) as { type?: string; cols?: number; rows?: number };
    if (msg.type === "size" && msg.cols && msg.rows) term.resize(msg.cols, msg.rows);
  };
  ws.onclose = () =>
    (status.textContent =
      "The view closed (the student's sandbox ended or the connection dropped).");
  ws.onopen = () =>
    (status.textContent = "Live, read-only: the student sees that you are looking.");
  const abort = new AbortController();
  const state = $("[data-watch-state]");
  follow(
    `/api/instructor/classes/${code}/students/${memberId}/state`,
    abort.signal,
    (name, data) => {
      if (name !== "snapshot") return;
      const snap = data as {
        containers: {
          name: string;
          image: string;
          state: string;
          mounts: { type: string; source: string; target: string }[];
        }[];
        volumes: { name: string; inUseBy: string[] }[];
      };
      const containers = el("ul");
      for (const c of snap.containers)
        containers.append(
          el(
            "li",
            `${c.name} (${c.image}, ${c.state})${c.mounts.length ? ": " + c.mounts.map((m) => `${m.source || m.type} → ${m.target}`).join(", ") : ""}`,
          ),
        );
      const volumes = el("ul");
      for (const v of snap.volumes)
        volumes.append(
          el("li", `${v.name}${v.inUseBy.length ? ` (used by ${v.inUseBy.join(", ")})` : ""}`),
        );
      state.replaceChildren(
        el("h4", `Containers (${snap.containers.length})`),
        containers,
        el("h4", `Volumes (${snap.volumes.length})`),
        volumes,
      );
    },
    () => undefined,
  );
  watching = { ws, abort, dispose: () => term.dispose() };
  $("[data-watch-title]").textContent = `Looking at ${answer.name}'s sandbox`;
  watchPanel.hidden = false;
  $<HTMLButtonElement>("[data-watch-close]").onclick = () => {
    closeWatch();
    opener.focus();
  };
  $("[data-watch-title]").focus();
}

table.addEventListener("click", (e) => {
  const button = (e.target as HTMLElement).closest<HTMLButtonElement>("[data-watch]");
  if (button) void openWatch(button.dataset.watch!, button);
});
select.addEventListener("change", () => openClass(select.value));
$<HTMLButtonElement>("[data-class-csv]").addEventListener("click", () => {
  if (!current) return;
  const a = el("a", undefined, {
    href: URL.createObjectURL(new Blob([csv(current)], { type: "text/csv" })),
    download: `class-${current.code}.csv`,
  });
  a.click();
  URL.revokeObjectURL(a.href);
});
$<HTMLButtonElement>("[data-class-end]").addEventListener("click", () => {
  if (
    !current ||
    !confirm(
      `End the class ${current.name}? No one else can join, and its warm sandboxes are removed (students keep theirs until they leave).`,
    )
  )
    return;
  void fetch(`/api/instructor/classes/${current.code}/end`, authorized({ method: "POST" }));
});
createForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const data = new FormData(createForm);
  const startsAt = String(data.get("startsAt") ?? "");
  const body = {
    name: String(data.get("name")),
    seats: Number(data.get("seats")),
    durationMinutes: Number(data.get("duration")),
    ...(startsAt ? { startsAt: new Date(startsAt).toISOString() } : {}),
  };
  createStatus.textContent = "Creating…";
  void fetch(
    "/api/instructor/classes",
    authorized({
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  ).then(async (res) => {
    const answer = (await res.json()) as { code?: string; error?: string };
    if (!res.ok || !answer.code) {
      createStatus.textContent = `Could not create the class: ${answer.error ?? res.status}`;
      return;
    }
    createStatus.textContent = `Class created: code ${answer.code}. Its sandboxes are warming.`;
    await loadClasses(answer.code);
  });
});

// Shown once the token is accepted (the progress form above checks it).
document.querySelector("[data-token-form]")!.addEventListener("submit", () => void loadClasses());
if (token()) void loadClasses();
