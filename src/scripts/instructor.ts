/** /instructor/: asks for the token and shows every learner's progress per exercise. */
interface Column {
  key: string;
  tasks: string[];
}
interface Row {
  /** The learner's public id (never their cookie). */
  publicId: string;
  lastLesson?: string;
  lastSeenAt?: string;
  exercises: Record<string, string[]>;
  quizzes: { answered: number; correct: number };
}
const columns = JSON.parse(document.getElementById("instructor-columns")!.textContent!) as Column[];
const form = document.querySelector<HTMLFormElement>("[data-token-form]")!;
const status = document.querySelector<HTMLElement>("[data-instructor-status]")!;
const wrap = document.querySelector<HTMLElement>("[data-instructor-table]")!;
const tbody = wrap.querySelector("tbody")!;
const input = form.querySelector<HTMLInputElement>("input")!;
input.value = sessionStorage.getItem("stowage-instructor-token") ?? "";

function cell(text: string, tag: "td" | "th" = "td"): HTMLElement {
  const el = document.createElement(tag);
  el.textContent = text;
  if (tag === "th") el.setAttribute("scope", "row");
  return el;
}

async function load(token: string) {
  status.textContent = "Loading…";
  const res = await fetch("/api/instructor/progress", {
    headers: { authorization: `Bearer ${token}` },
  }).catch(() => undefined);
  if (!res) {
    status.textContent = "The server cannot be reached.";
    return;
  }
  if (res.status === 401) {
    status.textContent = "That token is not right.";
    return;
  }
  if (res.status === 404) {
    status.textContent =
      "The instructor view is turned off on this server (STOWAGE_INSTRUCTOR_TOKEN is not set).";
    return;
  }
  if (!res.ok) {
    status.textContent = `The server answered ${res.status}.`;
    return;
  }
  sessionStorage.setItem("stowage-instructor-token", token);
  const { learners } = (await res.json()) as { learners: Row[] };
  tbody.replaceChildren(
    ...learners.map((row) => {
      const tr = document.createElement("tr");
      tr.append(
        cell(row.publicId.slice(2, 10), "th"),
        cell(row.lastLesson ?? "—"),
        cell(row.lastSeenAt ? new Date(row.lastSeenAt).toLocaleString() : "—"),
        ...columns.map((c) => {
          const passed = row.exercises[c.key]?.length ?? 0;
          const td = cell(
            passed === c.tasks.length
              ? `✓ ${passed}/${c.tasks.length}`
              : `${passed}/${c.tasks.length}`,
          );
          td.title = (row.exercises[c.key] ?? []).join(", ");
          return td;
        }),
        cell(`${row.quizzes.correct}/${row.quizzes.answered}`),
      );
      return tr;
    }),
  );
  wrap.hidden = false;
  status.textContent = `${learners.length} learner${learners.length === 1 ? "" : "s"}.`;
}
form.addEventListener("submit", (e) => {
  e.preventDefault();
  void load(input.value.trim());
});
if (input.value) void load(input.value);
