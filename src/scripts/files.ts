/**
 * The Files panel under the state panel: the student's home (GET /api/sessions/{id}/files), a
 * download link per file and an upload form (PUT .../files/upload). Loaded with the terminal.
 */
import { MAX_UPLOAD_BYTES, formatSize, uploadPathProblem } from "../utils/files.ts";
import { ApiError, api, describeError, ensureSession, forgetSession } from "./session.ts";

interface FileEntry {
  path: string;
  size: number;
  modified: string;
  type: "file" | "dir";
}

const POLL_MS = 4000;
const OPEN_KEY = "stowage-files-open";

export function mountFiles(root: HTMLElement): { refresh(): void } {
  const status = root.querySelector<HTMLElement>("[data-files-status]")!;
  const toggle = root.querySelector<HTMLButtonElement>("[data-files-toggle]")!;
  const body = root.querySelector<HTMLElement>(".files-body")!;
  const list = root.querySelector<HTMLUListElement>("[data-files-list]")!;
  const form = root.querySelector<HTMLFormElement>("[data-upload-form]")!;
  const fileInput = root.querySelector<HTMLInputElement>("[data-upload-file]")!;
  const pathInput = root.querySelector<HTMLInputElement>("[data-upload-path]")!;
  const refreshButton = root.querySelector<HTMLButtonElement>("[data-files-refresh]")!;
  let seq = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  let lastListing = "";
  /** The last upload's outcome: the listings that follow keep it in view rather than replacing it. */
  let lastUpload = "";

  const setStatus = (text: string, bad = false) => {
    status.textContent = text;
    status.classList.toggle("bad", bad);
  };

  async function sessionId(): Promise<string> {
    return ensureSession();
  }

  function render(id: string, files: FileEntry[]) {
    const only = files.filter((f) => f.type === "file");
    const key = id + JSON.stringify(only);
    if (key === lastListing) return;
    lastListing = key;
    list.replaceChildren(
      ...only.map((f) => {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = `/api/sessions/${encodeURIComponent(id)}/files/download?path=${encodeURIComponent(f.path)}`;
        a.download = f.path.split("/").pop()!;
        a.dataset.path = f.path;
        const hidden = document.createElement("span");
        hidden.className = "visually-hidden";
        hidden.textContent = "Download ";
        a.append(hidden, f.path);
        const size = document.createElement("span");
        size.className = "file-size";
        size.textContent = formatSize(f.size);
        li.append(a, size);
        return li;
      }),
    );
    if (only.length === 0) {
      const li = document.createElement("li");
      li.textContent = "No files yet.";
      list.append(li);
    }
    const count = `${only.length} file${only.length === 1 ? "" : "s"}`;
    setStatus(lastUpload ? `${lastUpload} ${count}` : count);
  }

  async function load(): Promise<void> {
    const mine = ++seq;
    try {
      let id = await sessionId();
      let result: { files: FileEntry[] };
      try {
        result = await api("GET", `/api/sessions/${encodeURIComponent(id)}/files`);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
        forgetSession();
        id = await sessionId();
        result = await api("GET", `/api/sessions/${encodeURIComponent(id)}/files`);
      }
      if (mine === seq) render(id, result.files);
    } catch (error) {
      if (mine === seq) setStatus(`Could not list your files: ${describeError(error)}.`, true);
    }
  }

  /** Refresh soon (coalesces bursts of state snapshots). */
  function refresh(delay = 400) {
    clearTimeout(timer);
    timer = setTimeout(() => void load(), delay);
  }

  function setOpen(open: boolean, save = true) {
    if (save) {
      try {
        localStorage.setItem(OPEN_KEY, open ? "1" : "0");
      } catch {
        /* private mode */
      }
    }
    body.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    toggle.firstChild!.textContent = open ? "Hide" : "Show";
    clearInterval(poll);
    if (open) {
      refresh(0);
      // Files written in the terminal make no Docker event: look again now and then while open.
      poll = setInterval(() => {
        if (document.visibilityState === "visible") void load();
      }, POLL_MS);
    }
  }
  toggle.addEventListener("click", () => setOpen(body.hidden));
  refreshButton.addEventListener("click", () => refresh(0));

  let autoPath = "";
  fileInput.addEventListener("change", () => {
    const file = fileInput.files?.[0];
    if (file && (!pathInput.value || pathInput.value === autoPath)) {
      autoPath = file.name;
      pathInput.value = file.name;
    }
  });

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const file = fileInput.files?.[0];
    const path = pathInput.value.trim();
    const problem = file
      ? file.size > MAX_UPLOAD_BYTES
        ? `${file.name} is ${formatSize(file.size)}; files up to 50 MB can be uploaded.`
        : uploadPathProblem(path)
      : "Choose a file first.";
    if (problem || !file) {
      setStatus(problem ?? "Choose a file first.", true);
      return;
    }
    const submit = form.querySelector<HTMLButtonElement>('button[type="submit"]')!;
    submit.disabled = true;
    lastUpload = "";
    setStatus(`Uploading ${file.name}…`);
    void (async () => {
      try {
        const id = await sessionId();
        const res = await fetch(
          `/api/sessions/${encodeURIComponent(id)}/files/upload?path=${encodeURIComponent(path)}`,
          {
            method: "PUT",
            credentials: "same-origin",
            headers: { "content-type": "application/octet-stream" },
            body: file,
          },
        );
        const json = (await res.json().catch(() => ({}))) as {
          error?: string;
          path?: string;
          size?: number;
        };
        if (!res.ok) throw new ApiError(res.status, json.error ?? `HTTP ${res.status}`);
        lastUpload = `Uploaded to ~/${json.path ?? path} (${formatSize(json.size ?? file.size)}).`;
        setStatus(lastUpload);
        form.reset();
        autoPath = "";
        lastListing = "";
        void load();
      } catch (error) {
        setStatus(`Could not upload: ${describeError(error)}.`, true);
      } finally {
        submit.disabled = false;
      }
    })();
  });

  document.addEventListener("stowage:session", () => {
    lastListing = "";
    refresh(0);
  });
  let reopen = false;
  try {
    reopen = localStorage.getItem(OPEN_KEY) === "1";
  } catch {
    /* private mode */
  }
  if (reopen) setOpen(true, false);
  else refresh(0);
  root.dataset.ready = "true";
  return { refresh: () => refresh() };
}
