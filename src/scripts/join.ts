/** /join/: joins a class (POST /api/sessions {class, name}), then opens the first lesson. */
import { api, describeError } from "./session.ts";

const form = document.querySelector<HTMLFormElement>("[data-join-form]")!;
const status = document.querySelector<HTMLElement>("[data-join-status]")!;
const codeInput = form.querySelector<HTMLInputElement>("#join-code")!;
const nameInput = form.querySelector<HTMLInputElement>("#join-name")!;
codeInput.value = new URLSearchParams(location.search).get("code") ?? "";
nameInput.value = localStorage.getItem("stowage-display-name") ?? "";
(codeInput.value ? nameInput : codeInput).focus();

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const name = nameInput.value.trim();
  status.textContent = "Joining…";
  status.classList.remove("bad");
  api("POST", "/api/sessions", { class: codeInput.value.trim(), ...(name ? { name } : {}) }).then(
    () => {
      try {
        localStorage.setItem("stowage-display-name", name);
      } catch {
        /* private mode */
      }
      status.textContent = "You are in. Opening the first lesson…";
      location.assign(form.dataset.firstLesson ?? "/lessons/");
    },
    (error: unknown) => {
      status.textContent = `Could not join: ${describeError(error)}`;
      status.classList.add("bad");
    },
  );
});
