/** On every page: theme toggle, the lessons drawer, Pagefind search and progress marks. */
import { lessonStatus, type ProgressSummary } from "../utils/progress.ts";
import { progressOnce, refreshProgress } from "./learner.ts";

// Theme.
const themeButton = document.querySelector<HTMLButtonElement>("[data-theme-toggle]");
function applyTheme(theme: "light" | "dark") {
  document.documentElement.dataset.theme = theme;
  themeButton?.setAttribute("aria-pressed", String(theme === "dark"));
  document.dispatchEvent(new CustomEvent("stowage:theme", { detail: theme }));
}
applyTheme(document.documentElement.dataset.theme === "dark" ? "dark" : "light");
themeButton?.addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  try {
    localStorage.setItem("stowage-theme", next);
  } catch {
    /* private mode */
  }
  applyTheme(next);
});

// Lessons drawer (narrow screens).
const menuButton = document.querySelector<HTMLButtonElement>("[data-menu-button]");
const sidebar = document.getElementById("sidebar");
if (menuButton && sidebar) {
  const setOpen = (open: boolean) => {
    menuButton.setAttribute("aria-expanded", String(open));
    document.body.classList.toggle("sidebar-open", open);
    if (open) sidebar.querySelector<HTMLElement>("a[aria-current], a")?.focus();
  };
  menuButton.addEventListener("click", () =>
    setOpen(menuButton.getAttribute("aria-expanded") !== "true"),
  );
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.body.classList.contains("sidebar-open")) {
      setOpen(false);
      menuButton.focus();
    }
  });
} else if (menuButton) {
  menuButton.hidden = true;
}

// Search (Pagefind, loaded on first use).
interface PagefindResult {
  data(): Promise<{ url: string; excerpt: string; meta: { title?: string } }>;
}
interface Pagefind {
  search(q: string): Promise<{ results: PagefindResult[] }>;
}
const searchInput = document.querySelector<HTMLInputElement>("#search-input");
const searchResults = document.querySelector<HTMLUListElement>("#search-results");
const searchStatus = document.querySelector<HTMLElement>("#search-status");
let pagefind: Promise<Pagefind> | undefined;
let searchSeq = 0;
async function runSearch(q: string) {
  if (!searchResults || !searchStatus) return;
  const seq = ++searchSeq;
  if (!q.trim()) {
    searchResults.hidden = true;
    searchStatus.textContent = "";
    return;
  }
  try {
    const url = "/pagefind/pagefind.js";
    pagefind ??= import(/* @vite-ignore */ url) as Promise<Pagefind>;
    const pf = await pagefind;
    const found = await pf.search(q);
    const data = await Promise.all(found.results.slice(0, 8).map((r) => r.data()));
    if (seq !== searchSeq) return;
    searchResults.replaceChildren(
      ...data.map((d) => {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = d.url;
        a.textContent = d.meta.title ?? d.url;
        const p = document.createElement("p");
        p.innerHTML = d.excerpt; // Pagefind escapes the text and adds <mark>.
        li.append(a, p);
        return li;
      }),
    );
    if (data.length === 0) {
      const li = document.createElement("li");
      li.textContent = "No lesson mentions that.";
      searchResults.append(li);
    }
    searchResults.hidden = false;
    searchStatus.textContent = `${data.length} result${data.length === 1 ? "" : "s"}`;
  } catch {
    pagefind = undefined;
    searchStatus.textContent = "Search is not available (the site was built without its index).";
  }
}
let searchTimer: ReturnType<typeof setTimeout> | undefined;
searchInput?.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => void runSearch(searchInput.value), 150);
});
searchInput?.addEventListener("keydown", (e) => {
  if (e.key === "Escape") {
    searchInput.value = "";
    void runSearch("");
  } else if (e.key === "ArrowDown") {
    searchResults?.querySelector("a")?.focus();
    e.preventDefault();
  }
});
document.addEventListener("click", (e) => {
  if (searchResults && !(e.target as Element).closest("[data-search]")) searchResults.hidden = true;
});

// Progress marks on every [data-lesson-id] (sidebar, overview) and the "continue" link.
const STATUS_TEXT = {
  done: "done",
  "in-progress": "in progress",
  "not-started": "not started",
} as const;
const MARK = { done: "✓", "in-progress": "◐" } as const;
export function markProgress(progress: ProgressSummary) {
  for (const el of document.querySelectorAll<HTMLElement>("[data-lesson-id]")) {
    const id = el.dataset.lessonId!;
    const keys = (el.dataset.tasks ?? "").split(",").filter(Boolean);
    const status = lessonStatus(keys, progress.lessons[id]);
    el.dataset.status = status;
    const text = el.querySelector(".status-text");
    if (text) text.textContent = ` (${STATUS_TEXT[status]})`;
    const label = el.querySelector(".status-label");
    if (label)
      label.textContent =
        status === "not-started" ? "Not started" : status === "done" ? "Done" : "In progress";
    const mark = el.querySelector(".status-mark");
    if (mark && status !== "not-started") mark.textContent = MARK[status];
  }
  const last =
    progress.lastLesson &&
    document.querySelector<HTMLElement>(`[data-lesson-id="${CSS.escape(progress.lastLesson)}"]`);
  for (const link of document.querySelectorAll<HTMLAnchorElement>("a[data-continue]")) {
    if (last && last.dataset.href) {
      link.href = last.dataset.href;
      link.textContent = link.dataset.continueText ?? "Continue where you left off";
    }
  }
}
if (document.querySelector("[data-lesson-id]")) {
  void progressOnce().then((p) => p && markProgress(p));
  document.addEventListener(
    "stowage:progress",
    () => void refreshProgress().then((p) => p && markProgress(p)),
  );
}
