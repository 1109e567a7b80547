/**
 * The whole student flow, end to end, on the real server (sandbox/server.ts) and the real Docker
 * engine, in Chromium: open a lesson, the prompt appears, `docker volume create demo`, the state
 * panel shows it, Check fails with the check's message, do the task, Check passes, reload keeps
 * the session, the screen and the progress. Nothing is mocked. Screenshots go to test-artifacts/.
 */
import { readFileSync } from "node:fs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startCourseInBrowser,
  terminalScreen,
  typeInTerminal,
  type CourseInBrowser,
} from "../../tools/course-in-browser.ts";
import { artifact } from "../../tools/site.ts";

const TOKEN = "instructor-token-for-tests";
let course: CourseInBrowser;
let server: CourseInBrowser["server"];
let base: string;
let browser: Browser;

beforeAll(async () => {
  course = await startCourseInBrowser("flow", { instructorToken: TOKEN });
  ({ server, base, browser } = course);
}, 180_000);

afterAll(async () => {
  await course?.close();
});

const screen = terminalScreen;

describe("a student works through a lesson", () => {
  it("terminal, state panel, checks, progress and reload", async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    const sessionIds: string[] = [];
    page.on("response", async (res) => {
      if (res.url().endsWith("/api/sessions") && res.request().method() === "POST" && res.ok()) {
        sessionIds.push(((await res.json()) as { id: string }).id);
      }
    });
    await page.goto(`${base}/lessons/fixture-volumes/`);

    // The prompt appears.
    await expect.poll(() => screen(page), { timeout: 30_000 }).toMatch(/\$\s*$/m);
    await expect.poll(() => page.locator("[data-term-status]").textContent()).toBe("Connected.");
    await page.screenshot({ path: artifact("flow-1-prompt.png") });

    // A flood of output (more than the server's 256 KiB window) only finishes if the page acknowledges what it rendered.
    await typeInTerminal(page, "seq 1 120000");
    await expect.poll(() => screen(page), { timeout: 30_000 }).toMatch(/^120000\s*\n.*\$\s*$/m);
    await typeInTerminal(page, "clear");

    // Create the volume: it shows up in the state panel.
    await typeInTerminal(page, "docker volume create demo");
    await expect.poll(() => screen(page), { timeout: 15_000 }).toMatch(/^demo\s*$/m);
    await expect
      .poll(() => page.locator("[data-state-diagram]").textContent(), { timeout: 10_000 })
      .toContain("demo");
    await page.screenshot({ path: artifact("flow-2-volume-in-state-panel.png") });

    // Check: the volume task passes, the container task fails with the check's own message.
    const exercise = page.locator('section.exercise[data-exercise="make-a-volume"]');
    await exercise.scrollIntoViewIfNeeded();
    await exercise.locator("[data-check]").click();
    const first = exercise.locator('li[data-task="demo-exists"]');
    const second = exercise.locator('li[data-task="demo-mounted"]');
    await expect.poll(() => first.getAttribute("data-state"), { timeout: 30_000 }).toBe("passed");
    expect(await second.getAttribute("data-state")).toBe("failed");
    expect(await second.locator(".task-message").textContent()).toContain(
      "There is no container named holder.",
    );
    await page.screenshot({ path: artifact("flow-3-check-fails.png") });

    // Do the task; Check passes (it may already have passed by itself: the panel re-checks on change).
    // Meanwhile the class's container-start slot is busy (another student's slow start): the
    // student is told in the terminal's status, where a screen reader hears it, and the start follows.
    const held = server.engine.starts.run(
      "another-student",
      () => new Promise((resolve) => setTimeout(resolve, 4000)),
    );
    await typeInTerminal(page, "docker run -d --name holder -v demo:/data busybox sleep 3600");
    await expect
      .poll(() => page.locator("[data-term-status]").textContent(), { timeout: 10_000 })
      .toMatch(/busy starting containers for this class/);
    await held;
    await expect
      .poll(() => page.locator("[data-state-diagram]").textContent(), { timeout: 20_000 })
      .toContain("holder");
    // The state stream's change re-runs the checks of the open exercise without a click.
    await expect.poll(() => second.getAttribute("data-state"), { timeout: 30_000 }).toBe("passed");
    expect(await exercise.locator(".ex-summary").textContent()).toContain(
      "(checked automatically)",
    );
    await exercise.locator("[data-check]").click();
    await expect
      .poll(() => exercise.locator(".ex-summary").textContent(), { timeout: 30_000 })
      .toBe("All 2 tasks done. Well done!");
    await page.screenshot({ path: artifact("flow-4-check-passes.png") });

    // Quiz: predict, then the explanation shows; recorded as progress.
    const quiz = page.locator('form.quiz[data-kind="predict"]');
    expect(await quiz.locator(".quiz-explanation").isVisible()).toBe(false);
    await quiz.locator("input").first().check();
    await quiz.locator('button[type="submit"]').click();
    expect(await quiz.locator(".quiz-explanation").isVisible()).toBe(true);

    // The progress API has it.
    await expect
      .poll(
        async () =>
          (await page.evaluate(() => fetch("/api/progress").then((r) => r.json()))) as {
            lastLesson: string;
            lessons: Record<string, { tasks: object; quizzes: object }>;
          },
        { timeout: 10_000 },
      )
      .toMatchObject({
        lastLesson: "01-fixture-volumes",
        lessons: {
          "01-fixture-volumes": {
            tasks: {
              "make-a-volume/demo-exists": expect.any(String),
              "make-a-volume/demo-mounted": expect.any(String),
            },
          },
        },
      });

    // Reload: same session, the screen is redrawn, progress is restored.
    await page.reload();
    await expect
      .poll(() => screen(page), { timeout: 30_000 })
      .toContain("docker volume create demo");
    expect(new Set(sessionIds).size).toBe(1);
    await expect.poll(() => second.getAttribute("data-state"), { timeout: 10_000 }).toBe("passed");
    expect(await first.getAttribute("data-state")).toBe("passed");
    await expect.poll(() => quiz.locator(".quiz-explanation").isVisible()).toBe(true);
    await expect
      .poll(() => page.locator("[data-state-diagram]").textContent(), { timeout: 10_000 })
      .toContain("holder");
    expect(
      await page
        .locator('.sidebar li[data-lesson-id="01-fixture-volumes"]')
        .getAttribute("data-status"),
    ).toBe("done");
    await page.screenshot({ path: artifact("flow-5-after-reload.png") });

    // Removing the container: the volume visibly stays.
    await typeInTerminal(page, "docker rm -f holder");
    await expect
      .poll(() => page.locator("[data-state-status]").textContent(), { timeout: 20_000 })
      .toContain("volume demo is still here");
    expect(await page.locator("[data-state-diagram] .dg-store-volume").count()).toBe(1);
    await page.screenshot({ path: artifact("flow-6-container-removed-volume-stays.png") });

    // The session ends under the page (here: deleted): the terminal reports it, reconnects with
    // backoff to a fresh session and shows its prompt.
    const status = page.locator("[data-term-status]");
    const seen: string[] = [];
    const watch = setInterval(
      () =>
        void status
          .textContent()
          .then((t) => t && seen.push(t))
          .catch(() => undefined),
      100,
    );
    expect(
      await page.evaluate(
        (id) => fetch(`/api/sessions/${id}`, { method: "DELETE" }).then((r) => r.status),
        sessionIds[0]!,
      ),
    ).toBe(204);
    await expect.poll(() => new Set(sessionIds).size, { timeout: 30_000 }).toBe(2);
    await expect.poll(() => status.textContent(), { timeout: 30_000 }).toBe("Connected.");
    clearInterval(watch);
    expect(
      seen.some((t) => /Reconnecting|Disconnected|ended|expired/i.test(t)),
      seen.join(" | "),
    ).toBe(true);
    await expect.poll(() => screen(page), { timeout: 30_000 }).toMatch(/\$\s*$/m);
    await expect
      .poll(() => page.locator("[data-state-status]").textContent(), { timeout: 20_000 })
      .toContain("0 containers, 0 volumes");
    await page.screenshot({ path: artifact("flow-6b-new-session.png") });

    // Keyboard users leave the terminal with Escape then Tab.
    await page.locator("[data-terminal] .xterm").click();
    expect(await page.evaluate(() => !!document.activeElement?.closest("[data-terminal]"))).toBe(
      true,
    );
    await page.keyboard.press("Escape");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => !!document.activeElement?.closest("[data-terminal]"))).toBe(
      false,
    );
    expect(
      await page.evaluate(() => document.activeElement?.closest(".state-panel") !== null),
    ).toBe(true);

    // The overview shows the lesson done and "continue" points at it.
    await page.goto(`${base}/lessons/`);
    await expect
      .poll(() =>
        page.locator('li.card[data-lesson-id="01-fixture-volumes"]').getAttribute("data-status"),
      )
      .toBe("done");
    expect(await page.locator("a[data-continue]").getAttribute("href")).toBe(
      "/lessons/fixture-volumes/",
    );
    await page.screenshot({ path: artifact("flow-7-overview.png") });
    await context.close();

    // The instructor sees this learner's progress, with the token only.
    const teacher = await browser.newPage();
    await teacher.goto(`${base}/instructor/`);
    await teacher.locator("#token").fill("wrong-token-wrong-token");
    await teacher.locator('[data-token-form] button[type="submit"]').click();
    await expect
      .poll(() => teacher.locator("[data-instructor-status]").textContent())
      .toBe("That token is not right.");
    await teacher.locator("#token").fill(TOKEN);
    await teacher.locator('[data-token-form] button[type="submit"]').click();
    await expect.poll(() => teacher.locator("[data-instructor-table] tbody tr").count()).toBe(1);
    const row = await teacher.locator("[data-instructor-table] tbody tr").first().textContent();
    expect(row).toContain("01-fixture-volumes");
    expect(row).toContain("✓ 2/2");
    await teacher.screenshot({ path: artifact("flow-8-instructor.png") });
    await teacher.close();
  }, 180_000);

  it("prepares an exercise, lists, downloads and uploads files of the home", async () => {
    const context = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      acceptDownloads: true,
    });
    const page = await context.newPage();
    await page.goto(`${base}/lessons/fixture-files/`);
    await expect.poll(() => screen(page), { timeout: 30_000 }).toMatch(/\$\s*$/m);

    // The exercise has a setup.sh: the page says why and offers to prepare it.
    const exercise = page.locator('section.exercise[data-exercise="bring-it-back"]');
    const setup = exercise.locator("[data-setup]");
    expect(await setup.locator("p").textContent()).toContain("starts from a prepared state");
    const prepare = setup.getByRole("button", { name: "Prepare this exercise" });

    // A failing setup shows what it printed.
    await typeInTerminal(page, "touch ~/break-setup");
    await prepare.click();
    await expect
      .poll(() => setup.locator("[data-setup-status]").textContent(), { timeout: 60_000 })
      .toBe("The preparation failed. What it printed:");
    expect(await setup.locator("[data-setup-output]").isVisible()).toBe(true);
    expect(await setup.locator("[data-setup-output]").textContent()).toContain(
      "cannot prepare: ~/break-setup is in the way",
    );
    await page.screenshot({ path: artifact("files-1-setup-failed.png") });

    // Out of the way, it succeeds and leaves its file in the home.
    await typeInTerminal(page, "rm ~/break-setup");
    await prepare.click();
    await expect
      .poll(() => setup.locator("[data-setup-status]").textContent(), { timeout: 60_000 })
      .toBe("Ready: the starting state is in your sandbox.");
    expect(await setup.locator("[data-setup-output]").isVisible()).toBe(false);
    expect(await setup.locator("[data-setup-button]").textContent()).toContain("Prepare again");

    // The Files panel lists the home; a file made in the terminal shows up.
    const panel = page.locator("[data-files]");
    await page.waitForSelector("[data-files][data-ready]");
    expect(await panel.locator("[data-files-toggle]").getAttribute("aria-expanded")).toBe("false");
    await panel.locator("[data-files-toggle]").click();
    expect(await panel.locator("[data-files-toggle]").getAttribute("aria-expanded")).toBe("true");
    const listed = () =>
      panel
        .locator("[data-files-list] a")
        .evaluateAll((as) => as.map((a) => (a as HTMLElement).dataset.path));
    await expect.poll(listed, { timeout: 15_000 }).toContain("start/prepared.txt");
    await typeInTerminal(
      page,
      "mkdir -p backup && printf 'hello from the sandbox\\n' > backup/notes.txt",
    );
    await expect.poll(listed, { timeout: 15_000 }).toContain("backup/notes.txt");
    await page.screenshot({ path: artifact("files-2-listed.png") });

    // Download: the browser saves the file's exact bytes.
    const download = async (path: string) => {
      const [saved] = await Promise.all([
        page.waitForEvent("download"),
        panel.locator(`[data-files-list] a[data-path="${path}"]`).click(),
      ]);
      expect(saved.suggestedFilename()).toBe(path.split("/").pop());
      return readFileSync((await saved.path())!);
    };
    expect((await download("backup/notes.txt")).toString()).toBe("hello from the sandbox\n");

    // Upload: a file from "the student's computer" lands in the home, byte for byte.
    const upload = async (name: string, buffer: Buffer, path?: string) => {
      await panel
        .locator("[data-upload-file]")
        .setInputFiles({ name, mimeType: "application/octet-stream", buffer });
      expect(await panel.locator("[data-upload-path]").inputValue()).toBe(name);
      if (path) await panel.locator("[data-upload-path]").fill(path);
      await panel.getByRole("button", { name: "Upload" }).click();
      await expect
        .poll(() => panel.locator("[data-files-status]").textContent(), { timeout: 15_000 })
        .toContain(`Uploaded to ~/${path ?? name}`);
    };
    await upload("upload.txt", Buffer.from("uploaded from the page\n"), "restore/upload.txt");
    await expect.poll(listed, { timeout: 15_000 }).toContain("restore/upload.txt");
    await typeInTerminal(page, "cat restore/upload.txt");
    await expect
      .poll(() => screen(page), { timeout: 15_000 })
      .toMatch(/^uploaded from the page\s*$/m);
    await page.screenshot({ path: artifact("files-3-uploaded.png") });

    // Binary content survives the round trip: upload every byte value, download it back.
    const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
    await upload("all-bytes.bin", binary);
    await expect.poll(listed, { timeout: 15_000 }).toContain("all-bytes.bin");
    expect(Buffer.compare(await download("all-bytes.bin"), binary)).toBe(0);

    // A path outside the home is refused on the page, before any request.
    await panel
      .locator("[data-upload-file]")
      .setInputFiles({ name: "x.txt", mimeType: "text/plain", buffer: Buffer.from("x") });
    await panel.locator("[data-upload-path]").fill("../escape.txt");
    await panel.getByRole("button", { name: "Upload" }).click();
    expect(await panel.locator("[data-files-status]").textContent()).toContain("cannot contain");

    // The uploaded file is what the exercise's check wanted.
    await exercise.locator("[data-check]").click();
    await expect
      .poll(() => exercise.locator('li[data-task="uploaded"]').getAttribute("data-state"), {
        timeout: 30_000,
      })
      .toBe("passed");

    // The server recorded the pass itself; the browser cannot mark a task done on its own.
    const progress = () =>
      page.evaluate(() => fetch("/api/progress").then((r) => r.json())) as Promise<{
        lessons: Record<string, { tasks: Record<string, string> }>;
      }>;
    await expect
      .poll(async () => Object.keys((await progress()).lessons["03-fixture-files"]?.tasks ?? {}))
      .toEqual(["bring-it-back/uploaded"]);
    expect(
      await page.evaluate(() =>
        fetch("/api/progress/tasks", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            lesson: "01-fixture-volumes",
            exercise: "make-a-volume",
            tasks: [{ id: "demo-exists", passed: true }],
          }),
        }).then((r) => r.status),
      ),
    ).toBe(410);
    expect((await progress()).lessons["01-fixture-volumes"]).toBeUndefined();

    // After a reload the Files panel is open again, with the same files.
    await page.reload();
    // The panel's code is a chunk loaded after the page: it reopens the panel when it arrives.
    await expect
      .poll(() => panel.locator("[data-files-toggle]").getAttribute("aria-expanded"), {
        timeout: 15_000,
      })
      .toBe("true");
    await expect.poll(listed, { timeout: 15_000 }).toContain("restore/upload.txt");
    await context.close();
  }, 180_000);
});
