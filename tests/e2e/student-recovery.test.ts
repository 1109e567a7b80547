/**
 * The student's way out, in Chromium on the real server and engine: a workstation removed behind
 * the server's back recovers by itself, or with one click on "Reset my sandbox" when the server
 * missed it; the reset keeps the files when asked and always the progress; and a failed check's
 * message no longer passes for current once the student fixed the task in the terminal; and
 * when the server restarts (a deploy), the open page's terminal comes back by itself, without a
 * reload, redrawing the screen the student had, in the same sandbox.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startCourseInBrowser,
  terminalScreen,
  typeInTerminal,
  type CourseInBrowser,
} from "../../tools/course-in-browser.ts";
import { artifact } from "../../tools/site.ts";
import { restartTestServer } from "../../tools/sandbox-server.ts";

let course: CourseInBrowser;
let server: CourseInBrowser["server"];
let base: string;
let browser: Browser;

beforeAll(async () => {
  course = await startCourseInBrowser("recovery");
  ({ server, base, browser } = course);
}, 180_000);

afterAll(async () => {
  await course?.close();
});

const screen = terminalScreen;

/** The learner's session id as the server knows it (the page's cookie). */
async function sessionOf(page: Page): Promise<string> {
  const res = await page.request.post(`${base}/api/sessions`);
  return ((await res.json()) as { id: string }).id;
}

async function openLessonWithWork(page: Page): Promise<{ id: string; progress: string }> {
  await page.goto(`${base}/lessons/fixture-volumes/`);
  await expect
    .poll(() => page.locator("[data-term-status]").textContent(), { timeout: 30_000 })
    .toBe("Connected.");
  await expect.poll(() => screen(page), { timeout: 30_000 }).toMatch(/\$\s*$/m);
  await typeInTerminal(page, "echo my-notes > ~/notes.txt && docker volume create demo");
  await expect
    .poll(() => page.locator("[data-state-diagram]").textContent(), { timeout: 15_000 })
    .toContain("demo");
  const progress = await (await page.request.get(`${base}/api/progress`)).text();
  expect(progress).toContain("01-fixture-volumes");
  return { id: await sessionOf(page), progress };
}

async function expectNotesIn(page: Page, present: boolean) {
  await typeInTerminal(page, "clear; cat ~/notes.txt 2>/dev/null || echo no-notes-here");
  await expect
    .poll(() => screen(page), { timeout: 15_000 })
    .toMatch(present ? /^my-notes\s*$/m : /^no-notes-here\s*$/m);
}

describe("a student whose sandbox broke", () => {
  it("recovers by itself when the workstation is removed behind the server's back", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const { id, progress } = await openLessonWithWork(page);
    await server.engine.docker
      .getContainer(server.sessions.get(id)!.workstationId!)
      .remove({ force: true });
    await expect.poll(() => sessionOf(page), { timeout: 30_000 }).not.toBe(id);
    await expect
      .poll(() => page.locator("[data-term-status]").textContent(), { timeout: 30_000 })
      .toBe("Connected.");
    await expectNotesIn(page, true);
    expect(await screen(page)).not.toMatch(/no such container/i);
    expect(await (await page.request.get(`${base}/api/progress`)).text()).toBe(progress);
    await page.screenshot({ path: artifact("recovery-1-by-itself.png") });
    await page.close();
  }, 120_000);

  it("recovers with one click at most on Reset my sandbox when the engine's event was missed; files and progress kept", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const { id, progress } = await openLessonWithWork(page);
    // The engine's events are not seen (as while a daemon restarts): nothing rebuilds it unasked.
    server.sessions.events.stop();
    try {
      await server.engine.docker
        .getContainer(server.sessions.get(id)!.workstationId!)
        .remove({ force: true });
      // The student clicks at once; a call of the page's own (the Files panel) may also find the
      // workstation gone and start the rebuild: either way one click is the most it takes.
      const reset = page.getByRole("button", { name: "Reset my sandbox" });
      expect(await page.getByLabel("keep my files").isChecked()).toBe(true);
      await reset.click();
      // Said where a screen reader hears it (the state panel's status region).
      await expect
        .poll(() => page.locator("[data-state-status]").textContent(), {
          timeout: 10_000,
          interval: 100,
        })
        .toMatch(/^Your sandbox was reset: a fresh one with your files\. Your progress is kept\./);
      await expect.poll(() => sessionOf(page), { timeout: 30_000 }).not.toBe(id);
      await expect
        .poll(() => page.locator("[data-term-status]").textContent(), { timeout: 30_000 })
        .toBe("Connected.");
      await expectNotesIn(page, true);
      // A fresh sandbox: the volume made before is gone, in the state panel too.
      await expect
        .poll(() => page.locator("[data-state-diagram]").textContent(), { timeout: 15_000 })
        .not.toContain("demo");
      expect(await (await page.request.get(`${base}/api/progress`)).text()).toBe(progress);
      // One connection, not two racing ones: the status stays as it should.
      expect(await page.locator("[data-term-status]").textContent()).toBe("Connected.");
      expect(await page.locator("[data-term-reconnect]").isHidden()).toBe(true);
      await page.screenshot({ path: artifact("recovery-2-one-click.png") });
    } finally {
      await server.sessions.events.start();
    }

    // With "keep my files" unticked, the new home is empty; progress is still kept.
    const before = await sessionOf(page);
    await page.getByLabel("keep my files").uncheck();
    await page.getByRole("button", { name: "Reset my sandbox" }).click();
    await expect.poll(() => sessionOf(page), { timeout: 30_000 }).not.toBe(before);
    await expect
      .poll(() => page.locator("[data-term-status]").textContent(), { timeout: 30_000 })
      .toBe("Connected.");
    await expectNotesIn(page, false);
    expect(await (await page.request.get(`${base}/api/progress`)).text()).toBe(progress);
    await page.close();
  }, 180_000);
});

describe("a failed check the student fixed in the terminal", () => {
  it("is marked as from an earlier check at once, and re-checked without a click", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${base}/lessons/fixture-files/`);
    await expect.poll(() => screen(page), { timeout: 30_000 }).toMatch(/\$\s*$/m);
    const exercise = page.locator('section.exercise[data-exercise="bring-it-back"]');
    const task = exercise.locator('li[data-task="uploaded"]');
    await exercise.locator("[data-check]").click();
    await expect.poll(() => task.getAttribute("data-state"), { timeout: 30_000 }).toBe("failed");
    expect(await task.locator(".task-message").textContent()).toContain(
      "There is no restore/upload.txt",
    );

    // Writing a file changes nothing the state panel sees: the terminal's Enter is what tells.
    await typeInTerminal(
      page,
      "mkdir -p restore && echo 'uploaded from the page' > restore/upload.txt",
    );
    await expect
      .poll(() => exercise.locator(".ex-summary").textContent(), { timeout: 2000, interval: 50 })
      .toMatch(/from the check at \d{1,2}:\d{2}:\d{2}.*before what you ran since/);
    expect(await exercise.getAttribute("data-stale")).toBe("true");
    await page.screenshot({ path: artifact("stale-1-marked.png") });
    await expect.poll(() => task.getAttribute("data-state"), { timeout: 30_000 }).toBe("passed");
    expect(await exercise.locator(".ex-summary").textContent()).toContain(
      "(checked automatically)",
    );
    expect(await exercise.getAttribute("data-stale")).toBeNull();
    await page.close();
  }, 120_000);
});

describe("a server restart during a class", () => {
  it("gets the page's terminal back by itself, redrawn, without a reload", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const { id, progress } = await openLessonWithWork(page);
    await typeInTerminal(page, "echo before-restart-$((6*7))");
    await expect.poll(() => screen(page), { timeout: 15_000 }).toMatch(/^before-restart-42\s*$/m);
    // Marks this very document: a reload would lose it.
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    const statuses: string[] = [];
    page.on("console", () => undefined);
    await page.exposeFunction("sawStatus", (text: string) => statuses.push(text));
    await page.evaluate(() => {
      const status = document.querySelector("[data-term-status]")!;
      new MutationObserver(() =>
        (window as unknown as { sawStatus(t: string): void }).sawStatus(status.textContent ?? ""),
      ).observe(status, { childList: true, characterData: true, subtree: true });
    });

    server = await restartTestServer(server);
    course.server = server; // closed with the course
    expect(server.port).toBe(Number(new URL(base).port));
    await expect
      .poll(() => page.locator("[data-term-status]").textContent(), { timeout: 30_000 })
      .toBe("Connected.");
    expect(statuses.join("\n")).toContain("The course server is restarting; your sandbox is kept.");
    // The screen the student had, then the server's word on what happened, then a new prompt.
    await expect
      .poll(() => screen(page), { timeout: 30_000 })
      .toMatch(/before-restart-42[\s\S]*the course server restarted[\s\S]*\$\s*$/);
    await page.screenshot({ path: artifact("restart-1-redrawn.png") });
    expect(await page.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await sessionOf(page)).toBe(id);
    await expectNotesIn(page, true);
    await typeInTerminal(page, "clear; docker volume ls -q");
    await expect.poll(() => screen(page), { timeout: 15_000 }).toMatch(/^demo\s*$/m);
    // The state stream is back (the adopted session's events reach the page), and a Check runs.
    await typeInTerminal(page, "docker volume create after-restart");
    await expect
      .poll(() => page.locator("[data-state-diagram]").textContent(), { timeout: 15_000 })
      .toContain("after-restart");
    const exercise = page.locator('section.exercise[data-exercise="make-a-volume"]');
    await exercise.locator("[data-check]").click();
    await expect
      .poll(() => exercise.locator('li[data-task="demo-exists"]').getAttribute("data-state"), {
        timeout: 30_000,
      })
      .toBe("passed");
    // Progress from before the restart is all there (the passed check adds to it).
    expect(JSON.parse(await (await page.request.get(`${base}/api/progress`)).text())).toMatchObject(
      JSON.parse(progress) as object,
    );
    await page.close();
  }, 120_000);
});
