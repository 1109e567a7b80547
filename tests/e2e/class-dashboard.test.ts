/**
 * A class, end to end, on the real server and engine in Chromium: the teacher creates a class in
 * the instructor view, its sandboxes warm, 5 students join by the link with their names, the
 * dashboard shows them and their checks live (no reload), the teacher opens a read-only view of
 * one student's terminal (the student sees the notice; nothing the teacher types reaches the
 * shell), the CSV export has every student, and the dashboard passes axe.
 */
import { readFileSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, studentShell } from "../../tools/sandbox-server.ts";
import {
  startCourseInBrowser,
  terminalScreen,
  type CourseInBrowser,
} from "../../tools/course-in-browser.ts";
import { artifact, axeSerious } from "../../tools/site.ts";

const TOKEN = "class-dashboard-token-for-tests";
const NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara"];
let course: CourseInBrowser;
let server: CourseInBrowser["server"];
let base: string;
let browser: Browser;

beforeAll(async () => {
  course = await startCourseInBrowser("class", { instructorToken: TOKEN });
  ({ server, base, browser } = course);
}, 180_000);

afterAll(async () => {
  await course?.close();
});

const screen = terminalScreen;

describe("a teacher runs a class", () => {
  it("creates it, watches 5 students join and work live, looks over one's shoulder read-only", async () => {
    const teacherContext = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      acceptDownloads: true,
    });
    const teacher = await teacherContext.newPage();
    await teacher.goto(`${base}/instructor/`);
    await teacher.fill("#token", TOKEN);
    await teacher.click("[data-token-form] button");
    await teacher.locator("[data-class-form]").waitFor();
    await teacher.fill("[data-class-form] input[name=name]", "Year 10 B");
    await teacher.fill("[data-class-form] input[name=seats]", "5");
    await teacher.click("[data-class-form] button");
    await expect
      .poll(() => teacher.locator("[data-class-code]").textContent(), { timeout: 10_000 })
      .toMatch(/^[A-Z0-9]{3}-[A-Z0-9]{3}$/);
    const joinUrl = (await teacher.locator("[data-class-link]").getAttribute("href"))!;
    expect(joinUrl).toMatch(/\/join\/\?code=[A-Z0-9]{6}$/);
    const code = joinUrl.slice(-6);
    // The class warms a sandbox per seat, and the board says so (live).
    await expect
      .poll(() => teacher.locator("[data-class-counts]").textContent(), {
        timeout: 90_000,
        interval: 1000,
      })
      .toContain("0 of 5 seats taken · 5 sandboxes warm");

    // 5 students join by the link with their names, and get a prompt.
    const students: { name: string; context: BrowserContext; page: Page }[] = [];
    for (const name of NAMES) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(joinUrl.replace(/^http:\/\/[^/]+/, base));
      expect(await page.inputValue("#join-code")).toBe(code);
      await page.fill("#join-name", name);
      await page.click("[data-join-form] button");
      await page.waitForURL(/\/lessons\/fixture-volumes\/$/, { timeout: 15_000 });
      students.push({ name, context, page });
    }
    for (const s of students)
      await expect.poll(() => screen(s.page), { timeout: 30_000 }).toMatch(/\$\s*$/m);
    const rows = teacher.locator("[data-class-table] tbody tr");
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(5);
    for (const name of NAMES)
      expect(await rows.allTextContents()).toEqual(
        expect.arrayContaining([expect.stringContaining(name)]),
      );
    await expect
      .poll(() => teacher.locator("[data-class-counts]").textContent(), { timeout: 15_000 })
      .toContain("5 of 5 seats taken · 0 sandboxes warm");

    // Ada checks her exercise before doing it: the dashboard shows the failure, live.
    const ada = students[0]!;
    const exercise = ada.page.locator('section.exercise[data-exercise="make-a-volume"]');
    await exercise.scrollIntoViewIfNeeded();
    await exercise.locator("[data-check]").click();
    const adaRow = rows.filter({ hasText: "Ada" });
    await expect
      .poll(() => adaRow.locator('td[data-status="failing"]').count(), { timeout: 15_000 })
      .toBeGreaterThan(0);
    expect(await adaRow.locator("td.failure").textContent()).toMatch(/no volume named demo|demo/i);
    await expect
      .poll(() => teacher.locator("[data-class-summary] tbody").textContent(), { timeout: 5000 })
      .toContain("(1)");
    await teacher.screenshot({ path: artifact("class-1-dashboard.png"), fullPage: true });

    // The teacher looks over Ada's shoulder.
    await adaRow.locator("[data-watch]").click();
    await teacher.locator("[data-watch-panel]").waitFor({ state: "visible" });
    await expect
      .poll(() => ada.page.locator("[data-watched-notice]").isVisible(), { timeout: 10_000 })
      .toBe(true);
    await expect
      .poll(() => ada.page.locator("[data-term-status]").textContent())
      .toContain("teacher is looking");
    await ada.page.locator("[data-terminal] .xterm").click();
    await ada.page.keyboard.type("docker volume create demo && echo made-$((6*7))", { delay: 5 });
    await ada.page.keyboard.press("Enter");
    const watched = teacher.locator("[data-watch-terminal] .xterm-rows");
    await expect.poll(() => watched.textContent(), { timeout: 15_000 }).toContain("made-42");
    await expect
      .poll(() => teacher.locator("[data-watch-state]").textContent(), { timeout: 15_000 })
      .toContain("demo");
    // Read-only: keys typed into the teacher's view, and bytes sent on the watch socket, reach no shell.
    await teacher.locator("[data-watch-terminal] .xterm").click();
    await teacher.keyboard.type("touch teacher-typed\n", { delay: 5 });
    const ticket = (
      await new ApiClient(server.url).call(
        "POST",
        `/api/instructor/classes/${code}/students/${await adaRow.locator("[data-watch]").getAttribute("data-watch")}/watch`,
        undefined,
        { authorization: `Bearer ${TOKEN}` },
      )
    ).body;
    const raw = new WebSocket(`ws://localhost:${server.port}${ticket.url}`);
    await new Promise((resolve, reject) => raw.once("open", resolve).once("error", reject));
    raw.send(Buffer.from("touch socket-typed\r"));
    raw.send(JSON.stringify({ type: "resize", cols: 20, rows: 5 }));
    await new Promise((r) => setTimeout(r, 1500));
    raw.close();
    const adaSession = server.sessions.forOwner(
      (await ada.context.cookies()).find((c) => c.name === "stowage_learner")!.value,
    )!;
    const files = await studentShell(
      server,
      adaSession.id,
      "ls -a ~; test ! -e ~/teacher-typed && test ! -e ~/socket-typed && echo untouched",
    );
    expect(files.output).toContain("untouched");
    await teacher.screenshot({ path: artifact("class-2-watching.png"), fullPage: true });
    expect(await axeSerious(teacher)).toEqual([]);
    expect(await axeSerious(ada.page)).toEqual([]);

    // Stopping: the student's notice goes away.
    await teacher.click("[data-watch-close]");
    await expect
      .poll(() => ada.page.locator("[data-watched-notice]").isVisible(), { timeout: 10_000 })
      .toBe(false);

    // CSV export: every student, one row each.
    const [download] = await Promise.all([
      teacher.waitForEvent("download"),
      teacher.click("[data-class-csv]"),
    ]);
    const text = readFileSync((await download.path())!, "utf8");
    const lines = text.trim().split("\r\n");
    expect(lines).toHaveLength(6);
    for (const name of NAMES) expect(text).toContain(`${name},`);
    expect(lines.find((l) => l.startsWith("Ada,"))).toMatch(/failing \(1\)|passed/);

    for (const s of students) await s.context.close();
    await teacherContext.close();
  }, 240_000);
});
